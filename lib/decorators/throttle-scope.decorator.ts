/** `@ThrottleScope('uploads')`: the scope `ScopedRateThrottle` counts a handler or controller in. */
import { SetMetadata } from '@nestjs/common';
import { THROTTLE_SCOPE_METADATA } from '../module/constants';

/**
 * DRF's `throttle_scope`: the scope `ScopedRateThrottle` reads on this
 * controller or handler, and so the rate from the module's `rates`.
 */
export function ThrottleScope(scope: string): ClassDecorator & MethodDecorator {
  if (typeof scope !== 'string' || scope.length === 0) {
    throw new TypeError(`@ThrottleScope() takes a non-empty scope name, got ${JSON.stringify(scope)}`);
  }
  return SetMetadata(THROTTLE_SCOPE_METADATA, scope);
}
