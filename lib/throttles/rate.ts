/**
 * Rates and what is decided against them: DRF's `parse_rate`, one decision
 * (the store's answer with its rate), and DRF's `wait()` formula.
 */
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { HitResult, StoreHit, ThrottleStore } from '../stores/throttle-store';
import { chain } from '../utils/chain';

/** `[numRequests, durationSeconds]`, or `[null, null]` for a `null` rate (not throttled). */
export type ParsedRate = [number, number] | [null, null];

const PERIOD_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

// "N/period": N a non-negative integer, period an optional positive integer
// multiplier (our extension: "10/5m") then a word starting with s, m, h or d.
const RATE = /^(\d+)\/(\d*)([smhd])[a-z]*$/i;

/**
 * Parses a DRF rate string such as `100/hour`, `5/sec` or (beyond DRF)
 * `10/5m` = 10 per 300 s. Anything else is a configuration error naming the
 * rate and, when known, the scope; so is a period longer than every store
 * can hold ({@link MAX_RATE_DURATION_SECONDS}).
 */
export function parseRate(rate: string | null | undefined, scope?: string): ParsedRate {
  if (rate === null || rate === undefined) return [null, null];
  const where = scope === undefined ? '' : ` for scope '${scope}'`;
  const match = typeof rate === 'string' ? RATE.exec(rate.trim()) : null;
  if (match === null) {
    throw new ImproperlyConfiguredError(
      `Invalid throttle rate '${String(rate)}'${where}: expected "<requests>/<period>" such as "100/hour", "5/s" ` +
        'or "10/5m", with a whole number of requests and a period of s, m, h or d.',
      'RFT_INVALID_RATE',
    );
  }
  const numRequests = Number(match[1]);
  const multiplier = match[2] === '' ? 1 : Number(match[2]);
  if (!Number.isSafeInteger(numRequests) || !Number.isSafeInteger(multiplier) || multiplier < 1) {
    throw new ImproperlyConfiguredError(
      `Invalid throttle rate '${rate}'${where}: the request count and the period multiplier must be whole numbers, ` +
        'the multiplier at least 1.',
      'RFT_INVALID_RATE',
    );
  }
  const duration = multiplier * PERIOD_SECONDS[match[3].toLowerCase()];
  if (duration > MAX_RATE_DURATION_SECONDS) {
    throw new ImproperlyConfiguredError(
      `Throttle rate '${rate}'${where} is out of range: its period is ${duration} s, and the longest every store ` +
        `can hold is ${MAX_RATE_DURATION_SECONDS} s (about 142 000 years).`,
      'RFT_RATE_OUT_OF_RANGE',
    );
  }
  return [numRequests, duration];
}

/**
 * The longest period a rate may have, in seconds: what every store can
 * hold. Expiries are written in milliseconds, as integers (Redis `PEXPIRE`
 * and `SET PX`, a get/set cache's TTL), and a store computes them from
 * doubles (JS, and Lua in the Redis script): up to twice the duration (the
 * sliding log keeps a key to the end of the eighth of a duration holding
 * its newest stamp, plus a duration; GCRA up to a duration and half an
 * interval), so twice the duration in ms must be a safe integer, which also
 * keeps it below the 10^17 past which Redis reads a Lua number as `1e+17`
 * and refuses it.
 */
export const MAX_RATE_DURATION_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 2000);

/**
 * DRF's wait formula. `remaining = duration - (now - oldest)` (the whole
 * duration with no history); `available = N - count + 1`; no positive
 * `available` means no estimate (`null`), else `remaining / available`.
 */
export function computeWait(state: {
  now: number;
  oldest: number | null;
  count: number;
  numRequests: number;
  duration: number;
  cost?: number;
}): number | null {
  // A request that costs more than the limit is never admitted: no wait would be true.
  if (state.cost !== undefined && state.cost > state.numRequests) return null;
  const remaining = state.oldest === null ? state.duration : state.duration - (state.now - state.oldest);
  const available = state.numRequests - state.count + 1;
  if (available <= 0) return null;
  return remaining / available;
}

/** A wait from user code, kept only when it is a finite number >= 0 (else: no estimate). */
export function checkedWait(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/** One decision: the store's answer, the rate it was made against and the scope (wait, headers, events). */
export interface RateDecision extends HitResult {
  readonly numRequests: number;
  readonly duration: number;
  readonly scope: string | undefined;
  /** The key counted, as the store got it. Events carry only its hash: it holds an address or a user id. */
  readonly key: string;
  /** What the request counted as, on a route with costs or blocks (`@ThrottleCost()`); absent: 1. */
  readonly cost?: number;
}

/** One throttle's hit of a request, worked out and not yet sent: what `store.hit()` (or `hitAll()`) is given. */
export interface PlannedHit {
  readonly store: ThrottleStore;
  /** The clock reading to decide at, or `undefined` for the store's own clock. */
  readonly now: number | undefined;
  readonly hit: StoreHit & { readonly cost: number; readonly blockSec: number };
}

/** A store's answer with what it was decided against. */
export function decision(
  result: HitResult,
  numRequests: number,
  duration: number,
  scope: string | undefined,
  key: string,
): RateDecision {
  return {
    allowed: result.allowed,
    now: result.now,
    count: result.count,
    oldest: result.oldest,
    numRequests,
    duration,
    scope,
    key,
  };
}

/** A planned hit sent to its store alone (a route with costs or blocks), as a decision; `null` stays `null`. */
export function sendHit(planned: PlannedHit | null): RateDecision | null | Promise<RateDecision> {
  if (planned === null) return null;
  const { key, limit, durationSec, algorithm, scope, cost, blockSec } = planned.hit;
  const result = planned.store.hit(key, limit, durationSec, planned.now, algorithm, scope, cost, blockSec);
  return chain(result, (r) => settleHit(planned, r));
}

/** The store's answer to a planned hit, as a decision (wait, headers, events). */
export function settleHit(planned: PlannedHit, result: HitResult): RateDecision {
  const { limit, durationSec, scope, key, cost } = planned.hit;
  return { ...decision(result, limit, durationSec, scope, key), cost };
}
