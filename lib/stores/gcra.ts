/**
 * GCRA's step, written once for the memory and get/set stores (gcra.lua.ts is its Lua twin): the cost and block
 * of algorithms.ts's steps on one number per key, the theoretical arrival time.
 */
import { blockedResult, startBlock } from './block-step';
import type { HitResult } from './throttle-store';

/**
 * GCRA's state: the theoretical arrival time (`-Infinity` for a key never
 * admitted), and the block as in the sliding log's state.
 */
export interface GcraState {
  tat: number;
  blockedUntil: number;
}

/**
 * GCRA, the generic cell rate algorithm, with the reference model's
 * operations in its order (test/helpers/gcra-model.ts, docs/algorithms.md):
 * `interval = duration / limit`; a hit of cost `c` (`need = max(c, 1)`) is
 * allowed iff `max(tat, now) + need * interval - now <= duration` (give or
 * take {@link gcraSlack}), and then `tat = max(tat, now) + c * interval`. A
 * refused hit changes nothing (but its block). The result has the sliding
 * log's shape: refused, `count = limit` and `oldest = nextAllowedAt -
 * duration`, so DRF's wait formula gives GCRA's exact wait. Mutates `state`.
 */
export function gcraHit(
  state: GcraState,
  limit: number,
  duration: number,
  now: number,
  cost = 1,
  blockSec = 0,
): HitResult {
  if (state.blockedUntil > now) return blockedResult(state.blockedUntil, limit, duration, now);
  if (limit <= 0) return { allowed: false, now, count: 0, oldest: null };
  const interval = duration / limit;
  const slack = gcraSlack(limit, interval);
  const tat = Math.max(state.tat, now);
  // `1 * interval` is `interval` exactly: cost 1 is the model's operation.
  const span = Math.max(cost, 1) * interval;
  if (tat + span - now <= duration + slack) {
    if (cost === 0) return gcraStanding(tat, limit, duration, now, interval, slack);
    // `span` is `cost * interval` here (cost >= 1).
    const newTat = tat + span;
    state.tat = newTat;
    const count = Math.min(limit, Math.ceil((newTat - now - slack) / interval));
    return { allowed: true, now, count, oldest: newTat - duration - (count - 1) * interval };
  }
  if (cost > limit) return { allowed: false, now, count: limit + 1, oldest: null };
  const nextAllowedAt = tat + span - duration;
  if (blockSec > 0) return startBlock(state, now + blockSec, nextAllowedAt, limit, duration, now);
  return { allowed: false, now, count: limit, oldest: nextAllowedAt - duration };
}

/**
 * An admitted look's report: the slots in use at `now` (`count`, as an
 * admitted hit counts them, but 0 when none is) and the `oldest` that makes
 * DRF's formula the time until one more frees.
 */
function gcraStanding(
  tat: number,
  limit: number,
  duration: number,
  now: number,
  interval: number,
  slack: number,
): HitResult {
  const count = Math.max(0, Math.min(limit, Math.ceil((tat - now - slack) / interval)));
  return { allowed: true, now, count, oldest: count > 0 ? tat - duration - (count - 1) * interval : null };
}

/**
 * Gives back `cost` intervals (the newest), never below an empty state
 * (`tat <= now`); the block, if any, stays. Mutates `state`.
 */
export function gcraRefund(state: GcraState, limit: number, duration: number, now: number, cost: number): void {
  if (limit <= 0 || state.tat <= now) return;
  state.tat = Math.max(state.tat - cost * (duration / limit), now);
}

/** Whether {@link gcraHit} would admit a hit of cost 1 at `now` (the same test, on the same operations). */
export function gcraHasRoom(state: GcraState, limit: number, duration: number, now: number): boolean {
  if (state.blockedUntil > now || limit <= 0) return false;
  const interval = duration / limit;
  return Math.max(state.tat, now) + interval - now <= duration + gcraSlack(limit, interval);
}

/**
 * How far past the boundary a hit still counts as on it, in seconds. At a
 * Unix time (about 2^31 s) a double is exact to 2.4e-7 s, and `tat` gains one
 * rounding per admitted hit: without slack a burst of `limit` hits at one
 * instant loses its last hit about one time in three. `limit` microseconds
 * cover the rounding of a whole burst; capped at half an interval, so a
 * burst never gains a hit. gcra.lua.ts writes the same expression in Lua.
 */
export function gcraSlack(limit: number, interval: number): number {
  return Math.min(limit * 1e-6, interval / 2);
}

/** GCRA's standing at `now`, as an admitted look reports it (the block not asked). */
export function gcraStandingOf(state: GcraState, limit: number, duration: number, now: number): HitResult {
  if (limit <= 0) return { allowed: true, now, count: 0, oldest: null };
  const interval = duration / limit;
  return gcraStanding(Math.max(state.tat, now), limit, duration, now, interval, gcraSlack(limit, interval));
}
