/**
 * The throttles of every route of one application, made ready at startup and
 * read by that application's {@link ThrottleGuard} on each request.
 */
import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleEvents } from '../events/throttle-events';
import type { AppExceptionFilters } from '../exceptions/app-exception-filters';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { RateLimitHeaders, RestflowThrottleOptions } from '../module/options';
import type { BaseThrottle } from '../throttles/base.throttle';
import type { SimpleRateThrottle } from '../throttles/simple-rate.throttle';
import { type HeaderLabel, headerLabels, headerName } from './rate-limit-headers';
import { type SkipCheck, skipCheck } from './skip-requests';
import { type AllOrNone, planAllOrNone } from './all-or-none';
import type { ThrottledExceptionFactory } from './throttled-info';

/** One throttle of a route, as the guard runs it. */
export interface RouteStep {
  readonly throttle: BaseThrottle;
  /** A plain rate throttle: the guard asks it for the whole decision (wait and headers, no per-request state). */
  readonly rate: SimpleRateThrottle | undefined;
  /** How a plain rate throttle is named in the rate-limit headers, when the module sends them. */
  readonly label?: HeaderLabel;
}

/** What the planner found for a route: its throttles, bound to it, and how often the app's guard is bound there. */
export interface RouteParts {
  readonly name: string;
  readonly controller: Function;
  readonly handler: Function;
  readonly steps: readonly RouteStep[];
  readonly bindings: number;
}

/**
 * A route's plan from what the planner found and the module's options: which
 * work each request of the route needs is decided here, once, so that an
 * option left unset costs the requests nothing.
 */
export function makePlan(
  parts: RouteParts,
  options: RestflowThrottleOptions,
  events: ThrottleEvents,
  filters?: AppExceptionFilters,
): RoutePlan {
  const headers = options.headers ?? false;
  let steps = parts.steps;
  if (headers !== false) {
    const rates = steps.filter((step) => step.rate !== undefined);
    const labels = headerLabels(rates.map((step) => headerName(step.rate as SimpleRateThrottle)));
    steps = steps.map((step) => (step.rate === undefined ? step : { ...step, label: labels[rates.indexOf(step)] }));
  }
  const skip = skipCheck(options);
  const lone = steps.length === 1 && headers === false && skip === undefined ? steps[0].rate : undefined;
  const allOrNone = options.countRefused === false ? planAllOrNone(parts.name, steps) : undefined;
  return { ...parts, steps, headers, events, lone, skip, allOrNone, refusal: options.throttledException, filters };
}

/** A route's throttles, made ready at startup. */
export interface RoutePlan {
  /** `ArticlesController.list`, for messages and events. */
  readonly name: string;
  readonly controller: Function;
  readonly handler: Function;
  readonly steps: readonly RouteStep[];
  readonly headers: RateLimitHeaders;
  /** The module's decision listeners (docs/metrics.md). */
  readonly events: ThrottleEvents;
  /**
   * How many times the app's guard is bound on this route (the module's own
   * place, plus the user's `@UseGuards(ThrottleGuard)` and
   * `useGlobalGuards(app.get(ThrottleGuard))`). Only the last of them, which
   * runs after every other guard, counts the request.
   */
  readonly bindings: number;
  /**
   * The route's one plain rate throttle when no headers are asked of its
   * decision and no request is skipped: over HTTP, while nobody listens to
   * events, the guard then needs only its answer.
   */
  readonly lone: SimpleRateThrottle | undefined;
  /** The module's `skipIf` and `ignoreUserAgents`, asked before any throttle runs; `undefined` without them. */
  readonly skip: SkipCheck | undefined;
  /** `countRefused: false` on a route with several throttles: how they run so that a refusal counts nowhere. */
  readonly allOrNone: AllOrNone | undefined;
  /** The module's `throttledException`: the app's own refusal; `undefined` for DRF's 429. */
  readonly refusal: ThrottledExceptionFactory | undefined;
  /** The app's exception filters: whether a GraphQL, WS or RPC refusal is thrown as `ThrottledException` for them. */
  readonly filters: AppExceptionFilters | undefined;
}

/**
 * Plans by handler, then by controller: a handler inherited by several
 * controllers has one plan per controller. Filled once at startup, before the
 * app serves; a route the planner never saw is refused loudly instead of
 * being let through unthrottled.
 */
export class RoutePlans {
  private readonly byHandler = new Map<Function, RoutePlan | RoutePlan[]>();
  /** Handlers the planner saw and found unthrottled: the guard may be bound there and does nothing. */
  private readonly unthrottled = new Set<Function>();
  /** Per request, the guard's calls so far on a route where it is bound several times (rare). */
  private readonly calls = new WeakMap<ExecutionContext, number>();
  private ready = false;

  /** At startup: the plan of a throttled route. */
  add(plan: RoutePlan): void {
    const known = this.byHandler.get(plan.handler);
    if (known === undefined) this.byHandler.set(plan.handler, plan);
    else this.byHandler.set(plan.handler, [...(Array.isArray(known) ? known : [known]), plan]);
  }

  /** At startup: a handler whose decorators resolve to no throttle. */
  addUnthrottled(handler: Function): void {
    this.unthrottled.add(handler);
  }

  /** At startup, once every plan is in: from now on an unknown route is an error. */
  seal(): void {
    this.ready = true;
  }

  /** Every plan, for startup checks and tests. */
  all(): RoutePlan[] {
    return [...this.byHandler.values()].flat();
  }

  /**
   * The plan the request must run now, or `undefined` when it must not run
   * here: the route is unthrottled, or this is not the last of several
   * bindings of the guard on it (so authentication has not run yet).
   */
  planFor(context: ExecutionContext): RoutePlan | undefined {
    const handler = context.getHandler();
    const known = this.byHandler.get(handler);
    let plan: RoutePlan | undefined;
    if (known === undefined || Array.isArray(known)) {
      const controller = context.getClass();
      plan = known?.find((p) => p.controller === controller);
      if (plan === undefined) return this.unplanned(controller, handler);
    } else {
      plan = known;
      if (plan.controller !== context.getClass()) return this.unplanned(context.getClass(), handler);
    }
    if (plan.bindings === 1) return plan;
    const calls = (this.calls.get(context) ?? 0) + 1;
    if (calls < plan.bindings) {
      this.calls.set(context, calls);
      return undefined;
    }
    this.calls.delete(context);
    return plan;
  }

  private unplanned(controller: Function | undefined, handler: Function): undefined {
    if (this.unthrottled.has(handler)) return undefined;
    const name = `${controller?.name ?? '?'}.${handler?.name ?? '?'}`;
    if (!this.ready) {
      throw new ImproperlyConfiguredError(
        `ThrottleGuard ran on ${name} before RestflowThrottleModule planned the app's routes: ` +
          'call app.init() (or app.listen()) before serving requests.',
        'RFT_ROUTE_NOT_PLANNED',
      );
    }
    throw new ImproperlyConfiguredError(
      `ThrottleGuard ran on ${name}, which RestflowThrottleModule did not find among the app's controllers, resolvers ` +
        'and gateways, so it has no throttles to run. Register the class in a module of this app (docs/errors.md).',
      'RFT_ROUTE_NOT_PLANNED',
    );
  }
}
