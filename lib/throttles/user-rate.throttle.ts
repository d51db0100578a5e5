import type { ThrottleRequest } from '../identity/throttle-request';
import { SimpleRateThrottle } from './simple-rate.throttle';

/**
 * Limits authenticated users by user id (scope `user`), and anonymous
 * clients by address, so one throttle covers both kinds of caller.
 */
export class UserRateThrottle extends SimpleRateThrottle {
  override scope = 'user';

  getCacheKey(request: ThrottleRequest): string | null {
    const userId = this.isAuthenticated(request) ? this.getUserId(request) : undefined;
    return this.formatKey(userId ?? this.getIdent(request));
  }
}
