import { Injectable } from '@nestjs/common';

/**
 * The rate each customer account signed for, as the contracts system
 * stores it: a rate string per tenant. A tenant without a contract gets the
 * throttle's default.
 */
@Injectable()
export class TenantContracts {
  private readonly rates = new Map<string, string>([
    ['acme', '1000/day'],
    ['globex', '20/min'],
  ]);

  async rateOf(tenantId: string): Promise<string | undefined> {
    return this.rates.get(tenantId);
  }
}
