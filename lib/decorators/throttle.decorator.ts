import { SetMetadata } from '@nestjs/common';
import { THROTTLES_METADATA } from '../module/constants';
import type { ThrottleType } from '../throttles/base.throttle';

/**
 * DRF's `throttle_classes`, on a controller or a handler: these throttles
 * replace the module's `defaultThrottles`. `@Throttle([])` opts out.
 *
 * @example
 * ```ts
 * @Throttle([AnonRateThrottle, UserRateThrottle])
 * @Controller('articles')
 * export class ArticlesController {}
 * ```
 */
export function Throttle(throttles: ThrottleType[]): ClassDecorator & MethodDecorator {
  if (!Array.isArray(throttles)) {
    throw new TypeError('@Throttle() takes an array of throttle classes, e.g. @Throttle([AnonRateThrottle]); @Throttle([]) opts out.');
  }
  return SetMetadata(THROTTLES_METADATA, [...throttles]);
}
