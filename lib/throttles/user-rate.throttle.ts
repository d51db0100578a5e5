/** DRF's `UserRateThrottle`: authenticated users by id, anonymous clients by address. */
import { addressKeyIdent, userKeyIdent } from '../identity/cache-key';
import type { ThrottleRequest } from '../identity/throttle-request';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * Limits authenticated users by user id (scope `user`), and anonymous
 * clients by address, so one throttle covers both kinds of caller. The two
 * are keyed apart (`user:<id>`, `ip:<address>`): no user id names an
 * address's bucket.
 */
export class UserRateThrottle extends SimpleRateThrottle {
  override scope = 'user';

  getCacheKey(request: ThrottleRequest): string | null {
    const userId = this.isAuthenticated(request) ? this.getUserId(request) : undefined;
    return this.formatKey(userId !== undefined ? userKeyIdent(userId) : addressKeyIdent(this.getIdent(request)));
  }
}
