/**
 * The two counting algorithms, each written once as a step that decides one
 * hit on a key's state and updates that state: the memory store and the
 * get/set store both call these, so they cannot drift apart. The Redis
 * store's Lua twins (sliding-log.lua.ts, gcra.lua.ts) do the same steps on
 * Redis values and must be kept in step with them.
 */
import type { HitResult } from './throttle-store';

/**
 * A sliding log: the `count` admitted timestamps, oldest first, from
 * `stamps[head]`, in a ring that wraps at its length. A ring, not a queue
 * compacted now and then: a key that slides steadily copies nothing.
 */
export interface SlidingLog {
  stamps: number[];
  head: number;
  count: number;
}

/** A ring at least this large shrinks once it is an eighth full (to twice its count). */
const SHRINK_FROM = 64;

/**
 * DRF's sliding log: drop the timestamps `<= now - duration`; if `limit`
 * remain, deny and record nothing; otherwise record `now`. O(1) amortised
 * whatever the limit (each stamp is dropped once). Mutates `log`.
 */
export function slidingLogHit(log: SlidingLog, limit: number, duration: number, now: number): HitResult {
  let stamps = log.stamps;
  let head = log.head;
  let count = log.count;
  const cutoff = now - duration;
  while (count > 0 && stamps[head] <= cutoff) {
    if (++head === stamps.length) head = 0;
    count--;
  }
  if (count >= limit) {
    log.head = head;
    log.count = count;
    return { allowed: false, now, count, oldest: count > 0 ? stamps[head] : null };
  }
  if (count === stamps.length || (count > 0 && stamps.length >= SHRINK_FROM && count * 8 <= stamps.length)) {
    stamps = log.stamps = resized(stamps, head, count);
    head = 0;
  }
  const tail = head + count;
  stamps[tail < stamps.length ? tail : tail - stamps.length] = now;
  log.head = head;
  log.count = count + 1;
  return { allowed: true, now, count: count + 1, oldest: stamps[head] };
}

/**
 * Whether {@link slidingLogHit} would admit a hit at `now`, without changing
 * the log: for a store choosing which key it may forget without letting a
 * refused client in. O(1) for a log no longer than its limit.
 */
export function slidingLogHasRoom(log: SlidingLog, limit: number, duration: number, now: number): boolean {
  const { stamps, head, count } = log;
  if (count < limit) return true;
  if (limit <= 0) return false;
  // Room once the oldest `count - limit + 1` stamps are all out of the window, as the step drops them.
  const cutoff = now - duration;
  for (let i = 0, at = head; i <= count - limit; i++) {
    if (stamps[at] > cutoff) return false;
    if (++at === stamps.length) at = 0;
  }
  return true;
}

/** A new, empty log: a ring of one, as most keys (one visit per client) never need more. */
export function emptyLog(): SlidingLog {
  return { stamps: [0], head: 0, count: 0 };
}

/**
 * A full (or mostly empty) ring's stamps in order, twice: a ring of twice
 * the count from 0, whose second copy is free space.
 */
function resized(stamps: number[], head: number, count: number): number[] {
  const end = head + count;
  const live =
    end <= stamps.length ? stamps.slice(head, end) : stamps.slice(head).concat(stamps.slice(0, end - stamps.length));
  return live.length === 0 ? [0] : live.concat(live);
}

/**
 * A log from DRF's value format, the history list newest first (what a
 * get/set cache holds); anything else is an empty log.
 */
export function logFromHistory(value: unknown): SlidingLog {
  if (!Array.isArray(value)) return emptyLog();
  const stamps = value.filter(isTime).reverse();
  return stamps.length === 0 ? emptyLog() : { stamps, head: 0, count: stamps.length };
}

/** A log in DRF's value format: its stamps newest first. */
export function historyOf(log: SlidingLog): number[] {
  const { stamps, head, count } = log;
  const history = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const at = head + count - 1 - i;
    history[i] = stamps[at < stamps.length ? at : at - stamps.length];
  }
  return history;
}

/** GCRA's state: the theoretical arrival time, `-Infinity` for a key never admitted. */
export interface GcraState {
  tat: number;
}

/**
 * GCRA, the generic cell rate algorithm, with the reference model's
 * operations in its order (test/helpers/gcra-model.ts, docs/algorithms.md):
 * `interval = duration / limit`; a hit is allowed iff
 * `max(tat, now) + interval - now <= duration` (give or take
 * {@link gcraSlack}), and then `tat = max(tat, now) + interval`. A denied hit
 * changes nothing. The result has the sliding log's shape: denied,
 * `count = limit` and `oldest = nextAllowedAt - duration`, so DRF's wait
 * formula gives GCRA's exact wait. Mutates `state`.
 */
export function gcraHit(state: GcraState, limit: number, duration: number, now: number): HitResult {
  if (limit <= 0) return { allowed: false, now, count: 0, oldest: null };
  const interval = duration / limit;
  const slack = gcraSlack(limit, interval);
  const tat = Math.max(state.tat, now);
  if (tat + interval - now <= duration + slack) {
    const newTat = tat + interval;
    state.tat = newTat;
    const count = Math.min(limit, Math.ceil((newTat - now - slack) / interval));
    return { allowed: true, now, count, oldest: newTat - duration - (count - 1) * interval };
  }
  const nextAllowedAt = tat + interval - duration;
  return { allowed: false, now, count: limit, oldest: nextAllowedAt - duration };
}

/** Whether {@link gcraHit} would admit a hit at `now` (the same test, on the same operations). Changes nothing. */
export function gcraHasRoom(state: GcraState, limit: number, duration: number, now: number): boolean {
  if (limit <= 0) return false;
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

/** GCRA's state from what a get/set cache holds under a key (anything but a finite number is none). */
export function gcraStateOf(value: unknown): GcraState {
  return { tat: isTime(value) ? value : -Infinity };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
