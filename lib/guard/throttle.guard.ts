/**
 * The guard that runs a route's throttles: one instance per application,
 * made by the module (`app.get(ThrottleGuard)` is it) and placed by it last
 * among each throttled handler's guards.
 */
import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';
import { checkThrottles } from './check-throttles';
import { RoutePlans } from './route-plans';

/** The token under which only the module hands its guard the app's plans. */
export const ROUTE_PLANS = Symbol('RESTFLOW_THROTTLE_ROUTE_PLANS');

/**
 * DRF's `check_throttles` as a Nest guard. The module puts this class last in
 * the guards of every throttled handler, and Nest resolves it there per
 * application, so every other guard (global ones from any module, the
 * controller's, the handler's) has run first: throttles see the
 * authenticated user, as in DRF.
 *
 * Binding it yourself (`@UseGuards(ThrottleGuard)`,
 * `app.useGlobalGuards(app.get(ThrottleGuard))`,
 * `{ provide: APP_GUARD, useClass: ThrottleGuard }`) changes nothing: a
 * request is counted once, by the last binding on its route. An instance Nest
 * builds elsewhere (`APP_GUARD` with `useClass`) has no plans and lets every
 * request through to the module's own.
 */
@Injectable()
export class ThrottleGuard implements CanActivate {
  constructor(@Optional() @Inject(ROUTE_PLANS) private readonly plans?: RoutePlans) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const plan = this.plans?.planFor(context);
    return plan === undefined || plan.steps.length === 0 ? true : checkThrottles(plan, context);
  }
}
