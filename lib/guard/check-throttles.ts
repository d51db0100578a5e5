import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { targetFor, type ThrottleTarget } from '../contexts';
import { ThrottledException } from '../exceptions/throttled.exception';
import { rateLimitHeaders, setHeaders } from './rate-limit-headers';
import type { RateLimitHeaders } from '../module/options';
import type { ThrottleEvents } from '../events/throttle-events';
import type { BaseThrottle } from '../throttles/base.throttle';
import { isThenable } from '../utils/chain';
import type { RateDecision, SimpleRateThrottle } from '../throttles/simple-rate.throttle';
import type { ThrottleRequest } from '../identity/throttle-request';
import { checkedWait, computeWait } from '../throttles/rate';

/** One throttle of a route, as the guard runs it. */
export interface RouteStep {
  readonly throttle: BaseThrottle;
  /** A plain rate throttle: the guard asks it for the whole decision (wait and headers, no per-request state). */
  readonly rate: SimpleRateThrottle | undefined;
}

/** A route's throttles, made ready at startup. */
export interface RoutePlan {
  readonly name: string;
  readonly steps: readonly RouteStep[];
  readonly headers: RateLimitHeaders;
  /** The module's decision listeners (docs/metrics.md). */
  readonly events: ThrottleEvents;
}

const NO_ERROR: unique symbol = Symbol('no error');

/**
 * DRF's `check_throttles` for one route. The module appends one of these to
 * the end of every throttled handler's guards, so it runs after every other
 * guard (global ones from any module, the controller's, the handler's):
 * authentication has always happened, as in DRF. Its plan is filled in at
 * startup.
 *
 * Every throttle runs, in declared order, with no early exit (one that
 * allows records its hit even when another denies); if any denied, the
 * longest known wait is raised. Whatever a throttle throws or rejects
 * becomes this request's error, and only that: a pending sibling is always
 * awaited, so nothing is left to reject unhandled.
 */
export class RouteThrottleGuard implements CanActivate {
  plan: RoutePlan | undefined;

  /** @param app the application (its module container) whose module placed this guard. */
  constructor(readonly controller: Function, readonly handler: Function, readonly app: object) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const plan = this.plan;
    // A handler inherited by several controllers carries one guard per controller.
    if (plan === undefined || plan.steps.length === 0 || context.getClass() !== this.controller) return true;
    const rate = plan.steps.length === 1 ? plan.steps[0].rate : undefined;
    if (rate === undefined || plan.events.active || context.getType() !== 'http') return this.checkAll(plan, context);
    // The usual route: one rate throttle over HTTP, nothing to report. What it throws is this request's error as it is.
    const outcome = rate.decideThen(context.getArgByIndex(0) as ThrottleRequest, context, this.settle, plan.headers === false);
    if (outcome === true || outcome === null) return true;
    return isThenable(outcome) ? (outcome as Promise<true>) : this.settle(outcome, context);
  }

  /** A lone rate throttle's decision over HTTP: allowed with no headers to send is the whole answer. */
  private readonly settle = (decision: RateDecision | null, context: ExecutionContext): true => {
    const plan = this.plan!;
    if (decision === null || (decision.allowed && plan.headers === false)) return true;
    return this.conclude(plan, [decision], context.getArgByIndex(0) as ThrottleRequest, context, undefined, undefined, 0);
  };

  /** Every throttle of the route, whatever they are and whatever the context. */
  private checkAll(plan: RoutePlan, context: ExecutionContext): boolean | Promise<boolean> {
    let target: ThrottleTarget | undefined;
    let request: ThrottleRequest;
    if (context.getType() === 'http') request = context.getArgByIndex(0) as ThrottleRequest;
    else request = (target = targetFor(context)).request;
    const events = plan.events.active ? plan.events : undefined;
    const startedAt = events === undefined ? 0 : performance.now();

    const steps = plan.steps;
    const outcomes: unknown[] = new Array(steps.length);
    let pending = false;
    let error: unknown = NO_ERROR;
    for (let i = 0; i < steps.length; i++) {
      try {
        const step = steps[i];
        const outcome = step.rate !== undefined ? step.rate.decide(request, context) : step.throttle.allowRequest(request, context);
        outcomes[i] = outcome;
        if (isThenable(outcome)) pending = true;
      } catch (thrown) {
        if (error === NO_ERROR) error = thrown;
      }
    }
    if (!pending) {
      if (error !== NO_ERROR) throw target?.failed?.(error) ?? error;
      return this.conclude(plan, outcomes, request, context, target, events, startedAt);
    }
    if (steps.length === 1) {
      // One throttle: no array of settled results to build.
      return Promise.resolve(outcomes[0]).then(
        (value) => this.conclude(plan, [value], request, context, target, events, startedAt),
        (reason: unknown) => {
          throw target?.failed?.(reason) ?? reason;
        },
      );
    }
    return Promise.allSettled(outcomes.map((o) => (isThenable(o) ? Promise.resolve(o) : o))).then((settled) => {
      if (error !== NO_ERROR) throw target?.failed?.(error) ?? error;
      for (let i = 0; i < settled.length; i++) {
        const result = settled[i];
        if (result.status === 'rejected') throw target?.failed?.(result.reason) ?? result.reason;
        outcomes[i] = result.value;
      }
      return this.conclude(plan, outcomes, request, context, target, events, startedAt);
    });
  }

  private conclude(
    plan: RoutePlan,
    outcomes: unknown[],
    request: ThrottleRequest,
    context: ExecutionContext,
    target: ThrottleTarget | undefined,
    events: ThrottleEvents | undefined,
    startedAt: number,
  ): true {
    let denied = false;
    let wait: number | null = null;
    let decisions: RateDecision[] | undefined;
    const waits = events === undefined ? undefined : new Array<number | null>(outcomes.length).fill(null);
    for (let i = 0; i < outcomes.length; i++) {
      const step = plan.steps[i];
      const outcome = outcomes[i];
      let seconds: number | null = null;
      if (step.rate !== undefined) {
        if (outcome === null) continue;
        const decision = outcome as RateDecision;
        if (plan.headers !== false) (decisions ??= []).push(decision);
        if (decision.allowed) continue;
        seconds = computeWait(decision);
      } else {
        if (outcome) continue;
        seconds = checkedWait(step.throttle.wait(request, context));
      }
      denied = true;
      if (waits !== undefined) waits[i] = seconds;
      if (seconds !== null && (wait === null || seconds > wait)) wait = seconds;
    }
    if (events !== undefined) reportDecisions(events, plan, outcomes, waits!, performance.now() - startedAt);
    const headers = decisions === undefined || plan.headers === false ? undefined : rateLimitHeaders(plan.headers, decisions);
    if (headers !== undefined) setHeaders(context, target, headers);
    if (!denied) return true;
    if (target !== undefined) throw target.throttled(wait, headers);
    throw new ThrottledException(wait);
  }
}

/** One event per throttle that decided (a rate throttle that skipped the request decided nothing). */
function reportDecisions(events: ThrottleEvents, plan: RoutePlan, outcomes: unknown[], waits: (number | null)[], latencyMs: number): void {
  for (let i = 0; i < outcomes.length; i++) {
    const { throttle, rate } = plan.steps[i];
    const decision = rate === undefined ? undefined : (outcomes[i] as RateDecision | null);
    if (decision === null) continue;
    const scope = (throttle as { scope?: unknown }).scope;
    const cache = rate === undefined ? null : typeof rate.cache === 'string' ? rate.cache : rate.cache === undefined ? 'default' : 'custom';
    events.decision({
      route: plan.name,
      throttle: throttle.constructor.name,
      scope: typeof scope === 'string' ? scope : undefined,
      keyHash: decision === undefined ? null : events.keyHash(decision.key),
      allowed: decision === undefined ? Boolean(outcomes[i]) : decision.allowed,
      wait: waits[i],
      cache,
      algorithm: rate?.algorithm ?? null,
      limit: decision?.numRequests ?? null,
      duration: decision?.duration ?? null,
      latencyMs,
    });
  }
}
