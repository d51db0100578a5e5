import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottledException } from './exceptions/throttled.exception';
import type { ThrottlePlan } from './throttle-plan';
import { THROTTLE_GUARD_BRAND, ThrottleRegistry } from './throttle-registry';
import type { ThrottleRequest } from './throttles/throttle-request';

/**
 * Runs a handler's throttles, DRF's `check_throttles`: every throttle in
 * declared order with no early exit (one that allows records its hit even
 * when another denies), then, if any denied, a 429 carrying the longest
 * known wait. The module binds it globally; bind it yourself with
 * `@UseGuards(AuthGuard, ThrottleGuard)` to run it after a controller's auth
 * guard, and the global one stands aside on that route.
 */
@Injectable()
export class ThrottleGuard implements CanActivate {
  static readonly [THROTTLE_GUARD_BRAND] = true;
  /** `true` for the instance the module registers as `APP_GUARD`. */
  protected readonly isGlobal: boolean = false;

  constructor(private readonly registry: ThrottleRegistry) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const plan = this.registry.planFor(context.getClass(), context.getHandler());
    if (plan instanceof Promise) return plan.then((p) => this.check(p, context));
    return this.check(plan, context);
  }

  private check(plan: ThrottlePlan, context: ExecutionContext): boolean | Promise<boolean> {
    const throttles = plan.throttles;
    if (throttles.length === 0 || (this.isGlobal && plan.guardOnRoute)) return true;
    // Nest's switchToHttp() allocates three closures and assigns them onto the
    // context on every call (~70 ns); its getRequest() is getArgByIndex(0).
    const request = (context.getArgByIndex?.(0) ?? context.switchToHttp().getRequest()) as ThrottleRequest;
    if (throttles.length === 1) {
      const allowed = throttles[0].allowRequest(request, context);
      if (allowed instanceof Promise) return allowed.then((a) => this.decide(plan, [a], request, context));
      return allowed || this.decide(plan, [allowed], request, context);
    }
    // Start every throttle before awaiting any, so remote stores see them together.
    const results = throttles.map((throttle) => throttle.allowRequest(request, context));
    if (results.some((r) => r instanceof Promise)) {
      return Promise.all(results).then((all) => this.decide(plan, all, request, context));
    }
    return this.decide(plan, results as boolean[], request, context);
  }

  private decide(plan: ThrottlePlan, allowed: readonly boolean[], request: ThrottleRequest, context: ExecutionContext): true {
    let denied = false;
    let wait: number | null = null;
    for (let i = 0; i < allowed.length; i++) {
      if (allowed[i]) continue;
      denied = true;
      const seconds = plan.throttles[i].wait(request, context);
      if (seconds !== null && seconds !== undefined && (wait === null || seconds > wait)) wait = seconds;
    }
    if (denied) throw new ThrottledException(wait);
    return true;
  }
}

/** The instance the module registers as `APP_GUARD`. */
@Injectable()
export class GlobalThrottleGuard extends ThrottleGuard {
  protected override readonly isGlobal = true;
}
