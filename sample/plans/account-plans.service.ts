import { Injectable } from '@nestjs/common';

/** What a customer pays for. `internal` is the company's own tooling: not throttled. */
export type Plan = 'free' | 'pro' | 'internal';

/**
 * The rate of each plan. `null` means not throttled, as in DRF's
 * `DEFAULT_THROTTLE_RATES`. Each distinct string is parsed once.
 */
export const PLAN_RATES: Readonly<Record<Plan, string | null>> = {
  free: '100/hour',
  pro: '10000/hour',
  internal: null,
};

/**
 * The billing system's view of users, as an injected service. In a real
 * app this reads a database or a cache of it; it is async either way.
 */
@Injectable()
export class AccountPlans {
  private readonly plans = new Map<number, Plan>([
    [1, 'pro'], // alice
    [3, 'internal'], // carol
  ]);

  async planOf(userId: string): Promise<Plan> {
    return this.plans.get(Number(userId)) ?? 'free';
  }
}
