/**
 * DRF's `check_throttles` for one route: every throttle runs, in declared
 * order, with no early exit (one that allows records its hit even when another
 * denies); if any denied, the longest known wait is raised as a 429 in the
 * request's transport. Whatever a throttle throws or rejects becomes this
 * request's error, and only that: a pending sibling is always awaited, so
 * nothing is left to reject unhandled.
 */
import type { ExecutionContext } from '@nestjs/common';
import { targetFor, type ThrottleTarget } from '../contexts';
import type { ThrottleEvents } from '../events/throttle-events';
import type { ThrottleRequest } from '../identity/throttle-request';
import { checkedWait, computeWait, type RateDecision } from '../throttles/rate';
import { isThenable } from '../utils/chain';
import { exhaustedReset, type HeaderLabel, rateLimitHeaders, setHeaders } from './rate-limit-headers';
import { refusal, refuse, refuseDecision } from './refusals';
import type { RoutePlan, RouteStep } from './route-plans';
import type { RefusingThrottle } from './throttled-info';
import { decideAllOrNone, type Outcome } from './all-or-none';

/** One request on its way through a route's throttles. */
interface Check {
  readonly plan: RoutePlan;
  readonly context: ExecutionContext;
  readonly request: ThrottleRequest;
  /** How to answer outside HTTP (GraphQL, WS, RPC); `undefined` over HTTP. */
  readonly target: ThrottleTarget | undefined;
  /** Set when the module has decision listeners. */
  readonly events: ThrottleEvents | undefined;
  readonly startedAt: number;
}

const NO_ERROR: unique symbol = Symbol('no error');

/**
 * Runs the plan's throttles on one request: `true`, or the refusal (over HTTP a promise that rejects with the 429,
 * see `later()`; elsewhere thrown in the transport's form), or a throttle's error, thrown.
 */
export function checkThrottles(plan: RoutePlan, context: ExecutionContext): true | Promise<true> {
  const lone = plan.lone;
  if (lone !== undefined && !plan.events.active && context.getType() === 'http') {
    // The usual route: one rate throttle over HTTP, no headers, nobody listening; what it throws is the request's error.
    const decision = lone.decide(context.getArgByIndex(0) as ThrottleRequest, context);
    if (decision === null) return true;
    if (!isThenable(decision)) return decision.allowed ? true : later(() => refuseDecision(plan, context, decision));
    return decision.then((d) => (d === null || d.allowed ? true : refuseDecision(plan, context, d)));
  }
  const http = context.getType() === 'http';
  const target = http ? undefined : targetFor(context);
  const request = target === undefined ? (context.getArgByIndex(0) as ThrottleRequest) : target.request;
  const skip = plan.skip;
  if (skip === undefined) return runThrottles(plan, context, target, request);
  // The module's skipIf / ignoreUserAgents: a skipped request is neither throttled nor counted.
  let skipped: boolean | PromiseLike<boolean>;
  try {
    skipped = skip(context, request);
  } catch (error) {
    throw failed(target, error);
  }
  if (!isThenable(skipped)) return skipped ? true : runThrottles(plan, context, target, request);
  return Promise.resolve(skipped).then(
    (yes) => (yes ? true : runThrottles(plan, context, target, request)),
    (error: unknown) => {
      throw failed(target, error);
    },
  );
}

/** Every throttle of the plan, then the conclusion. */
function runThrottles(
  plan: RoutePlan,
  context: ExecutionContext,
  target: ThrottleTarget | undefined,
  request: ThrottleRequest,
): true | Promise<true> {
  const events = plan.events.active ? plan.events : undefined;
  const check: Check = {
    plan,
    context,
    request,
    target,
    events,
    startedAt: events === undefined ? 0 : performance.now(),
  };
  const steps = plan.steps;
  if (plan.allOrNone !== undefined) {
    let together: Outcome[] | Promise<Outcome[]>;
    try {
      together = decideAllOrNone(steps, plan.allOrNone, request, context);
    } catch (error) {
      throw failed(target, error);
    }
    if (!isThenable(together)) return conclude(check, together);
    return together.then(
      (outcomes) => conclude(check, outcomes),
      (error: unknown) => {
        throw failed(target, error);
      },
    );
  }

  if (steps.length === 1) {
    let outcome: Outcome | PromiseLike<Outcome>;
    try {
      outcome = run(steps[0], request, context);
    } catch (error) {
      throw failed(target, error);
    }
    if (!isThenable(outcome)) return conclude(check, [outcome]);
    return Promise.resolve(outcome).then(
      (value) => conclude(check, [value]),
      (error: unknown) => {
        throw failed(target, error);
      },
    );
  }

  const outcomes: Array<Outcome | PromiseLike<Outcome>> = new Array(steps.length);
  let pending = false;
  let error: unknown = NO_ERROR;
  for (let i = 0; i < steps.length; i++) {
    try {
      outcomes[i] = run(steps[i], request, context);
      pending ||= isThenable(outcomes[i]);
    } catch (thrown) {
      if (error === NO_ERROR) error = thrown;
    }
  }
  if (!pending) {
    if (error !== NO_ERROR) throw failed(target, error);
    return conclude(check, outcomes as Outcome[]);
  }
  return Promise.allSettled(outcomes).then((settled) => {
    if (error !== NO_ERROR) throw failed(target, error);
    const values: Outcome[] = [];
    for (const result of settled) {
      if (result.status === 'rejected') throw failed(target, result.reason);
      values.push(result.value as Outcome);
    }
    return conclude(check, values);
  });
}

/** One throttle: a plain rate throttle hands over its whole decision; any other answers `allowRequest()`. */
function run(step: RouteStep, request: ThrottleRequest, context: ExecutionContext): Outcome | PromiseLike<Outcome> {
  return step.rate !== undefined ? step.rate.decide(request, context) : step.throttle.allowRequest(request, context);
}

/** A throttle's, `skipIf`'s or the cache's error, in the transport's form. */
function failed(target: ThrottleTarget | undefined, error: unknown): unknown {
  return target?.failed?.(error) ?? error;
}

/** Every throttle has answered: headers, events, then `true` or the refusal with the longest known wait. */
function conclude(check: Check, outcomes: readonly Outcome[]): true | Promise<never> {
  const { plan, request, context, events } = check;
  let denied = false;
  let wait: number | null = null;
  let decisions: RateDecision[] | undefined;
  let labels: HeaderLabel[] | undefined;
  let refusals: RefusingThrottle[] | undefined;
  const waits = events === undefined ? undefined : new Array<number | null>(outcomes.length).fill(null);
  for (let i = 0; i < outcomes.length; i++) {
    const step = plan.steps[i];
    const outcome = outcomes[i];
    let seconds: number | null;
    if (step.rate !== undefined) {
      if (outcome === null) continue;
      const decision = outcome as RateDecision;
      if (plan.headers !== false) {
        decisions ??= [];
        labels ??= [];
        decisions.push(decision);
        labels.push(step.label as HeaderLabel);
      }
      if (decision.allowed) continue;
      seconds = computeWait(decision);
    } else {
      if (outcome) continue;
      seconds = checkedWait(step.throttle.wait(request, context));
    }
    denied = true;
    if (plan.refusal !== undefined) {
      const decision = step.rate === undefined ? undefined : (outcome as RateDecision);
      refusals ??= [];
      refusals.push(refusal(plan, step, decision, seconds));
    }
    if (waits !== undefined) waits[i] = seconds;
    if (seconds !== null && (wait === null || seconds > wait)) wait = seconds;
  }
  if (events !== undefined) report(events, plan, outcomes, waits!, performance.now() - check.startedAt);
  const mode = plan.headers;
  const headers = decisions === undefined || mode === false ? undefined : rateLimitHeaders(mode, decisions, labels);
  if (headers !== undefined) setHeaders(context, check.target, headers);
  if (!denied) return true;
  if (headers !== undefined && decisions!.length > 1) {
    // Never earlier than a reset the response announces for a policy with nothing left (SPEC; one throttle: DRF's wait).
    const reset = exhaustedReset(decisions!);
    if (reset !== null && (wait === null || reset > wait)) wait = reset;
  }
  if (check.target !== undefined) return refuse(plan, context, check.target, wait, headers, refusals);
  return later(() => refuse(plan, context, undefined, wait, headers, refusals));
}

/**
 * A refusal over HTTP, handed to Nest as a promise that rejects a microtask later instead of thrown: by then
 * each async frame of Nest's route handler awaits it, and the rejection passes through them as one. Thrown,
 * it rejects each frame's promise before its caller awaits it, which Node records as possibly unhandled and
 * then handled again: a fifth of a refusal's CPU time on Fastify (issue 23 item 1).
 */
function later(refuse: () => never): Promise<never> {
  return Promise.resolve().then(refuse);
}

/** One event per throttle that decided (a rate throttle that skipped the request decided nothing). */
function report(
  events: ThrottleEvents,
  plan: RoutePlan,
  outcomes: readonly Outcome[],
  waits: (number | null)[],
  latencyMs: number,
): void {
  for (let i = 0; i < outcomes.length; i++) {
    const { throttle, rate } = plan.steps[i];
    const decision = rate === undefined ? undefined : (outcomes[i] as RateDecision | null);
    if (decision === null) continue;
    const scope = (throttle as { scope?: unknown }).scope;
    const cache =
      rate === undefined
        ? null
        : typeof rate.cache === 'string'
          ? rate.cache
          : rate.cache === undefined
            ? 'default'
            : 'custom';
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
