import { Injectable, type CanActivate } from '@nestjs/common';

/**
 * The guard you may bind yourself, as with `@nestjs/throttler`
 * (`@UseGuards(ThrottleGuard)`, `{ provide: APP_GUARD, useClass: ThrottleGuard }`,
 * `app.useGlobalGuards(...)`). Binding it changes nothing: the module already
 * runs every throttled handler's throttles once, from a guard it places after
 * all of that handler's other guards, so authentication always runs first and
 * no request is counted twice, however many times this class is bound.
 */
@Injectable()
export class ThrottleGuard implements CanActivate {
  canActivate(): true {
    return true;
  }
}
