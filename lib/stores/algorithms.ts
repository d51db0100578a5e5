import type { HitResult } from './throttle-store';

/**
 * The two algorithms as steps on a value held by a get/set cache, for
 * {@link CacheManagerStore}. Each step decides one hit on the value the
 * previous step left, so a batch of hits on one key is decided in arrival
 * order exactly as one-at-a-time get/set would decide them.
 */

/**
 * DRF's sliding log on its own value format (the history list, newest
 * first): drop stamps `<= now - duration` from the tail; deny at `limit`;
 * else record `now`. Mutates `history`.
 */
export function slidingLogStep(history: number[], limit: number, duration: number, now: number): HitResult {
  const cutoff = now - duration;
  while (history.length > 0 && history[history.length - 1] <= cutoff) history.pop();
  if (history.length >= limit) {
    return { allowed: false, now, count: history.length, oldest: history.length > 0 ? history[history.length - 1] : null };
  }
  history.unshift(now);
  return { allowed: true, now, count: history.length, oldest: history[history.length - 1] };
}

/** The history a cache holds under a key, as a fresh array of its numbers (anything else is an empty log). */
export function historyOf(value: unknown): number[] {
  return Array.isArray(value) ? value.filter(isTime) : [];
}

/** A GCRA step's result and the theoretical arrival time to store (`undefined`: unchanged). */
export interface GcraStep {
  readonly result: HitResult;
  readonly tat: number | undefined;
}

/**
 * GCRA with the reference model's operations in its order (see
 * docs/algorithms.md): `interval = duration / limit`; allowed iff
 * `max(tat, now) + interval - now <= duration` (give or take
 * {@link gcraSlack}), and then `tat = max(tat, now) + interval`.
 */
export function gcraStep(stored: number | undefined, limit: number, duration: number, now: number): GcraStep {
  if (limit <= 0) return { result: { allowed: false, now, count: 0, oldest: null }, tat: undefined };
  const interval = duration / limit;
  const slack = gcraSlack(limit, interval);
  const tat = Math.max(stored ?? now, now);
  if (tat + interval - now <= duration + slack) {
    const newTat = tat + interval;
    const count = Math.min(limit, Math.ceil((newTat - now - slack) / interval));
    return { result: { allowed: true, now, count, oldest: newTat - duration - (count - 1) * interval }, tat: newTat };
  }
  const nextAllowedAt = tat + interval - duration;
  return { result: { allowed: false, now, count: limit, oldest: nextAllowedAt - duration }, tat: undefined };
}

/**
 * How far past the boundary a hit still counts as on it, in seconds. At a
 * Unix time (about 2^31 s) a double is exact to 2.4e-7 s, and `tat` gains one
 * rounding per admitted hit: without slack a burst of `limit` hits at one
 * instant loses its last hit about one time in three. `limit` microseconds
 * cover the rounding of a whole burst; capped at half an interval, so a
 * burst never gains a hit. The Lua script uses the same expression.
 */
export function gcraSlack(limit: number, interval: number): number {
  return Math.min(limit * 1e-6, interval / 2);
}

/** The theoretical arrival time a cache holds under a key (anything else is none). */
export function tatOf(value: unknown): number | undefined {
  return isTime(value) ? value : undefined;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
