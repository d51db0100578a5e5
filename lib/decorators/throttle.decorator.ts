/** `@Throttle([...])`: the throttle classes of a handler or controller. */
import { SetMetadata } from '@nestjs/common';
import { THROTTLES_METADATA } from '../module/constants';
import type { ThrottleType } from '../throttles/base.throttle';
import { PeerOptions } from './peer-options';

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
  // Anything but an array (@nestjs/throttler's options, in a build that did not type-check) is refused at startup.
  return SetMetadata(
    THROTTLES_METADATA,
    Array.isArray(throttles) ? [...throttles] : new PeerOptions('@Throttle', throttles),
  );
}
