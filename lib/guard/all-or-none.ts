/**
 * The module's `countRefused: false`: a request refused by one throttle of its route is counted by none. The
 * route's other throttles (`allowRequest()` of their own) run first, and a refusal there leaves the rate
 * throttles untouched; then every rate throttle's hit goes to their one store in a single `hitAll()`, which
 * records them all or none. Planned at startup, for the routes that need it; the others run as before.
 */
import type { ExecutionContext } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { ThrottleStore } from '../stores/throttle-store';
import { type PlannedHit, type RateDecision, sendHit, settleHit } from '../throttles/rate';
import type { SimpleRateThrottle } from '../throttles/simple-rate.throttle';
import { chain, isThenable } from '../utils/chain';

/** What one throttle answered: a rate throttle's decision (`null`: not throttled), or another's `allowRequest()`. */
export type Outcome = RateDecision | null | boolean;

/** A route's throttles as `countRefused: false` runs them. */
export interface AllOrNone {
  /** Indexes of the steps with an `allowRequest()` of their own: asked first. */
  readonly others: readonly number[];
  /** Indexes of the plain rate throttles: decided together. */
  readonly rates: readonly number[];
}

/** The steps of a route, as far as this file reads them. */
interface Step {
  readonly throttle: {
    allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | PromiseLike<boolean>;
  };
  readonly rate: SimpleRateThrottle | undefined;
}

/**
 * At startup: how `countRefused: false` runs a route, or `undefined` when nothing changes (a route with one
 * throttle). Its rate throttles must count in one store, and with several, a store that has `hitAll()`.
 */
export function planAllOrNone(name: string, steps: readonly Step[]): AllOrNone | undefined {
  const rates: number[] = [];
  const others: number[] = [];
  for (let i = 0; i < steps.length; i++) (steps[i].rate === undefined ? others : rates).push(i);
  if (rates.length === 0 || steps.length === 1) return undefined;
  if (rates.length > 1) {
    const stores = new Map<ThrottleStore, string[]>();
    for (const i of rates) {
      const rate = steps[i].rate as SimpleRateThrottle;
      const store = rate.countingStore();
      stores.set(store, [...(stores.get(store) ?? []), describe(rate)]);
    }
    if (stores.size > 1) {
      const groups = [...stores.values()].map((names) => names.join(' and ')).join('; ');
      throw new ImproperlyConfiguredError(
        `countRefused: false decides a route's rate throttles in one call to their store, but ${name}'s count ` +
          `in ${stores.size} different stores (${groups}): give them one cache, or keep countRefused: true.`,
        'RFT_COUNT_REFUSED_STORES',
      );
    }
    const [store] = stores.keys();
    if (typeof store.hitAll !== 'function') {
      throw new ImproperlyConfiguredError(
        `countRefused: false needs a store with hitAll() to decide ${name}'s rate throttles together, and ` +
          `${store.constructor.name} has none: implement it (lib/stores/throttle-store.ts) or keep countRefused: true.`,
        'RFT_HIT_ALL_UNSUPPORTED',
      );
    }
  }
  return { others, rates };
}

function describe(rate: SimpleRateThrottle): string {
  const cache = rate.cache === undefined ? 'default' : typeof rate.cache === 'string' ? rate.cache : 'its own';
  return `${rate.constructor.name} (cache ${cache})`;
}

/**
 * Every throttle's answer to one request, in the route's order: the others first; if one refused, the rate
 * throttles answer `null` (not counted); else all the rate throttles' hits at once. Throws (or rejects with)
 * the first error of a throttle, once every one it started has settled.
 */
export function decideAllOrNone(
  steps: readonly Step[],
  plan: AllOrNone,
  request: ThrottleRequest,
  context: ExecutionContext,
): Outcome[] | Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(steps.length).fill(null);
  const decideRates = (): Outcome[] | Promise<Outcome[]> => {
    const planned = settled(
      plan.rates.map((i) => () => (steps[i].rate as SimpleRateThrottle).planHit(request, context)),
    );
    return chain(planned, (hits) => chain(sendAll(hits), (decisions) => fill(outcomes, plan.rates, decisions)));
  };
  if (plan.others.length === 0) return decideRates();
  const answers = settled(plan.others.map((i) => () => steps[i].throttle.allowRequest(request, context)));
  return chain(answers, (allowed) => {
    fill(outcomes, plan.others, allowed);
    return allowed.every(Boolean) ? decideRates() : outcomes;
  });
}

/** The planned hits (`null`: not throttled) sent at once: one `hit()` for one, one `hitAll()` for several. */
function sendAll(planned: readonly (PlannedHit | null)[]): (RateDecision | null)[] | Promise<(RateDecision | null)[]> {
  const hits = planned.filter((hit) => hit !== null);
  if (hits.length <= 1) {
    const one = hits.length === 0 ? null : sendHit(hits[0]);
    const put = (decision: RateDecision | null) => planned.map((hit) => (hit === null ? null : decision));
    return isThenable<RateDecision | null>(one) ? Promise.resolve(one).then(put) : put(one);
  }
  const { store, now } = hits[0];
  const results = (store.hitAll as NonNullable<ThrottleStore['hitAll']>)(
    hits.map((planned) => planned.hit),
    now,
  );
  return chain(results, (answers) => {
    let next = 0;
    return planned.map((hit) => (hit === null ? null : settleHit(hit, answers[next++])));
  });
}

function fill(outcomes: Outcome[], indexes: readonly number[], values: readonly Outcome[]): Outcome[] {
  indexes.forEach((step, n) => {
    outcomes[step] = values[n];
  });
  return outcomes;
}

const NO_ERROR: unique symbol = Symbol('no error');

/**
 * Runs every call (none skipped when one throws), then the values, at once when none is a promise; else once
 * all have settled. The first error, thrown or rejected, wins, after the others settle: none rejects unheard.
 */
function settled<T>(calls: readonly (() => T | PromiseLike<T>)[]): T[] | Promise<T[]> {
  const values: Array<T | PromiseLike<T>> = new Array(calls.length);
  let pending = false;
  let error: unknown = NO_ERROR;
  for (let i = 0; i < calls.length; i++) {
    try {
      values[i] = calls[i]();
      pending ||= isThenable(values[i]);
    } catch (thrown) {
      if (error === NO_ERROR) error = thrown;
    }
  }
  if (!pending) {
    if (error !== NO_ERROR) throw error;
    return values as T[];
  }
  return Promise.allSettled(values).then((results) => {
    if (error !== NO_ERROR) throw error;
    return results.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
  });
}
