import { Injectable } from '@nestjs/common';
import { UserRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { AccountPlans, PLAN_RATES } from './account-plans.service';

/**
 * One bucket per user, sized by the user's plan: free `100/hour`, pro
 * `10000/hour`, internal not throttled. Anonymous clients (by address) get
 * the class's own rate, the free one.
 *
 * `getRequestRate()` is the per-request hook: a rate string, `null` for
 * "not throttled", or `undefined` for the class's rate (`rate` or the
 * scope's). A registered provider, so its service is injected.
 */
@Injectable()
export class PlanRateThrottle extends UserRateThrottle {
  override scope = 'plan';
  override rate = PLAN_RATES.free;

  constructor(private readonly plans: AccountPlans) {
    super();
  }

  override async getRequestRate(request: ThrottleRequest): Promise<string | null | undefined> {
    const userId = this.isAuthenticated(request) ? this.getUserId(request) : undefined;
    if (userId === undefined) return undefined;
    return PLAN_RATES[await this.plans.planOf(userId)];
  }
}
