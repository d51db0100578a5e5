import { Injectable } from '@nestjs/common';
import { SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import type { SampleUser } from '../auth/users';
import { TenantContracts } from './tenant-contracts.service';

/**
 * One bucket per tenant, at the rate of the tenant's contract, read through
 * an injected service on each request (cache it there if it is slow). No
 * contract: `rate`, `5/min`. Requests outside any tenant are not throttled
 * by it (key `null`).
 */
@Injectable()
export class ContractRateThrottle extends SimpleRateThrottle {
  override scope = 'contract';
  override rate = '5/min';

  constructor(private readonly contracts: TenantContracts) {
    super();
  }

  getCacheKey(request: ThrottleRequest): string | null {
    const tenantId = (request.user as SampleUser | undefined)?.tenantId;
    return tenantId === undefined ? null : this.formatKey(tenantId);
  }

  override getRequestRate(request: ThrottleRequest): Promise<string | undefined> | undefined {
    const tenantId = (request.user as SampleUser | undefined)?.tenantId;
    return tenantId === undefined ? undefined : this.contracts.rateOf(tenantId);
  }
}
