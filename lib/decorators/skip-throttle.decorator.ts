/** `@SkipThrottle()`: no throttle on a handler or controller (the same as `@Throttle([])`). */
import { SetMetadata } from '@nestjs/common';
import { THROTTLES_METADATA } from '../module/constants';
import { PeerOptions } from './peer-options';

/**
 * Opts a controller or handler out of every throttle; the same as
 * `@Throttle([])`. It takes no options: `@nestjs/throttler`'s
 * `@SkipThrottle({ short: true })`, left in a build that did not type-check,
 * is refused when the app starts instead of skipping everything.
 */
export function SkipThrottle(...peerOptions: never[]): ClassDecorator & MethodDecorator {
  const given = peerOptions as unknown[];
  return SetMetadata(THROTTLES_METADATA, given.length === 0 ? [] : new PeerOptions('@SkipThrottle', given[0]));
}
