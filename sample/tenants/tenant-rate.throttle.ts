import { SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import type { SampleUser } from '../auth/users';

/**
 * The docs' `TenantRateThrottle`: one bucket per customer account, shared by
 * all its users, at the `tenant` rate. A request without a tenant (anonymous,
 * or a user outside any tenant) gets the key `null`: this throttle skips it.
 *
 * No constructor and no registration: the module creates it once.
 */
export class TenantRateThrottle extends SimpleRateThrottle {
  override scope = 'tenant';

  getCacheKey(request: ThrottleRequest): string | null {
    const tenantId = (request.user as SampleUser | undefined)?.tenantId;
    if (tenantId === undefined) return null;
    return this.formatKey(tenantId);
  }
}
