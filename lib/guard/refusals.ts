/**
 * How a refused request is answered: DRF's 429 (`ThrottledException`), or the
 * app's own error from the module's `throttledException`, in the request's
 * transport, with `Retry-After` over HTTP either way.
 */
import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleTarget } from '../contexts';
import { failurePayload } from '../contexts/throttled-payload';
import { ThrottledException } from '../exceptions/throttled.exception';
import { computeWait, type RateDecision } from '../throttles/rate';
import { setHeaders } from './rate-limit-headers';
import type { RoutePlan, RouteStep } from './route-plans';
import type { RefusingThrottle } from './throttled-info';

/**
 * Throws the refusal of a request: with the module's `throttledException`,
 * the app's error (told `refusals`); else DRF's. Over HTTP `Retry-After` is
 * set here, not only by the module's filter, so an app's filter that renders
 * the 429 itself (a catch-all reporting to an error tracker, say) still sends
 * it. Elsewhere an `HttpException`'s text goes into the transport's throttled
 * error (with the code and the wait a client reads); any other error is
 * thrown as it is, built for that transport. There, when the app has its own
 * filter for `ThrottledException` (`AppExceptionFilters`), DRF's exception
 * (or the app's own `ThrottledException`) is thrown instead, for it to catch.
 */
export function refuse(
  plan: RoutePlan,
  context: ExecutionContext,
  target: ThrottleTarget | undefined,
  wait: number | null,
  headers: Readonly<Record<string, string>> | undefined,
  refusals: readonly RefusingThrottle[] | undefined,
): never {
  const own = plan.refusal;
  if (own === undefined) {
    if (target !== undefined) {
      if (plan.filters?.wantThrottledException(plan, context))
        throw forAppFilter(new ThrottledException(wait), target, headers);
      throw target.throttled(wait, headers);
    }
    const exception = new ThrottledException(wait);
    if (exception.wait) setHeaders(context, undefined, { 'Retry-After': String(exception.wait) });
    throw exception;
  }
  const seconds = wait === null ? null : Math.ceil(wait);
  const error: unknown = own({ context, route: plan.name, wait: seconds, throttles: refusals ?? [] });
  if (typeof error !== 'object' || error === null) {
    throw new TypeError(`throttledException must return an Error; it returned ${String(error)} (on ${plan.name}).`);
  }
  if (target === undefined) {
    if (seconds) setHeaders(context, undefined, { 'Retry-After': String(seconds) });
    throw error;
  }
  if (error instanceof ThrottledException && plan.filters?.wantThrottledException(plan, context)) {
    throw forAppFilter(error, target, headers);
  }
  const detail = failurePayload(error)?.message;
  throw detail === undefined ? error : target.throttled(wait, headers, detail);
}

/**
 * A GraphQL, WS or RPC refusal for the app's own `@Catch(ThrottledException)`
 * filter: the exception itself, with the headers (and `Retry-After`) set where
 * the transport has them (GraphQL over HTTP), as its transport error would.
 */
function forAppFilter(
  exception: ThrottledException,
  target: ThrottleTarget,
  headers: Readonly<Record<string, string>> | undefined,
): ThrottledException {
  if (target.setHeaders !== undefined) {
    target.setHeaders(exception.wait ? { ...headers, 'Retry-After': String(exception.wait) } : { ...headers });
  }
  return exception;
}

/** The refusal of the usual route (one rate throttle over HTTP): its decision alone says it all. */
export function refuseDecision(plan: RoutePlan, context: ExecutionContext, decision: RateDecision): never {
  const wait = computeWait(decision);
  const refusals = plan.refusal === undefined ? undefined : [refusal(plan, plan.steps[0], decision, wait)];
  return refuse(plan, context, undefined, wait, undefined, refusals);
}

/** What `throttledException` is told of one throttle that refused: a rate throttle's decision, or just its wait. */
export function refusal(
  plan: RoutePlan,
  step: RouteStep,
  decision: RateDecision | undefined,
  wait: number | null,
): RefusingThrottle {
  const scope = (step.throttle as { scope?: unknown }).scope;
  return {
    throttle: step.throttle.constructor.name,
    scope: typeof scope === 'string' ? scope : undefined,
    keyHash: decision === undefined ? null : plan.events.keyHash(decision.key),
    hits: decision?.count ?? null,
    limit: decision?.numRequests ?? null,
    duration: decision?.duration ?? null,
    wait,
  };
}
