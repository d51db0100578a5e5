/** DRF's `AnonRateThrottle`: anonymous clients by address; authenticated requests are not counted here. */
import { addressKeyIdent } from '../identity/cache-key';
import type { ThrottleRequest } from '../identity/throttle-request';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * Limits anonymous clients by address (scope `anon`, key
 * `throttle_anon_ip:<address>`). Authenticated requests are not counted at
 * all, so an anonymous and an authenticated quota can stand side by side on
 * one route.
 */
export class AnonRateThrottle extends SimpleRateThrottle {
  override scope = 'anon';

  getCacheKey(request: ThrottleRequest): string | null {
    if (this.isAuthenticated(request)) return null;
    return this.formatKey(addressKeyIdent(this.getIdent(request)));
  }
}
