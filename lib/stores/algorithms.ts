/**
 * The two counting algorithms, each written once as a step that decides one
 * hit on a key's state and updates that state: the memory store and the
 * get/set store both call these, so they cannot drift apart. The sliding log
 * is here, GCRA in gcra.ts and the block in block-step.ts, all exported from
 * here. The Redis
 * store's Lua twins (sliding-log.lua.ts, gcra.lua.ts) do the same steps on
 * Redis values and must be kept in step with them.
 *
 * Every step of a hit, in this order (both algorithms):
 * 1. (log) drop the stamps `<= now - duration`;
 * 2. blocked (`blockedUntil > now`): refused, nothing recorded, the block
 *    kept as it is; reported as {@link blockedResult};
 * 3. `need = max(cost, 1)` fits (log: `count + need <= limit`; GCRA:
 *    `max(tat, now) + need * interval - now <= duration + slack`): allowed,
 *    `cost` recorded (none for a look, cost 0);
 * 4. otherwise refused, recording nothing: a cost that can never fit
 *    (`cost > limit`) reports `count = limit + 1` and starts no block; any
 *    other refusal knows when `need` fits again (`freeAt`) and, with
 *    `blockSec > 0`, blocks the key until `max(now + blockSec, freeAt)`.
 * With cost 1 and blockSec 0 (the defaults) each step is DRF's (or GCRA's
 * model) operation for operation.
 */
import { blockedResult, startBlock } from './block-step';
import type { HitResult } from './throttle-store';

export * from './block-step';
export * from './gcra';

/**
 * A sliding log: the `count` admitted timestamps, oldest first, from
 * `stamps[head]`, in a ring that wraps at its length. A ring, not a queue
 * compacted now and then: a key that slides steadily copies nothing.
 * `blockedUntil`: the key is refused before then (`-Infinity`: never blocked).
 */
export interface SlidingLog {
  stamps: number[];
  head: number;
  count: number;
  blockedUntil: number;
}

/** A ring at least this large shrinks once it is an eighth full (to twice its count). */
const SHRINK_FROM = 64;

/**
 * DRF's sliding log, with a cost and a block (the steps above). O(cost)
 * amortised whatever the limit (each stamp is dropped once). Mutates `log`.
 */
export function slidingLogHit(
  log: SlidingLog,
  limit: number,
  duration: number,
  now: number,
  cost = 1,
  blockSec = 0,
): HitResult {
  let stamps = log.stamps;
  let head = log.head;
  let count = log.count;
  const cutoff = now - duration;
  while (count > 0 && stamps[head] <= cutoff) {
    if (++head === stamps.length) head = 0;
    count--;
  }
  if (log.blockedUntil > now || count + Math.max(cost, 1) > limit) {
    log.head = head;
    log.count = count;
    return slidingLogRefusal(log, limit, duration, now, cost, blockSec);
  }
  if (cost !== 1) return slidingLogRecord(log, head, count, now, cost);
  // Cost 1, the hot path: DRF's step as it always was.
  if (count === stamps.length || (count > 0 && stamps.length >= SHRINK_FROM && count * 8 <= stamps.length)) {
    stamps = log.stamps = resized(stamps, head, count, count + 1);
    head = 0;
  }
  const tail = head + count;
  stamps[tail < stamps.length ? tail : tail - stamps.length] = now;
  log.head = head;
  log.count = count + 1;
  return { allowed: true, now, count: count + 1, oldest: stamps[head] };
}

/** An admitted hit of cost 0 (a look: nothing recorded) or more than 1 (`cost` stamps of `now`). */
function slidingLogRecord(log: SlidingLog, head: number, count: number, now: number, cost: number): HitResult {
  let stamps = log.stamps;
  log.head = head;
  log.count = count;
  if (cost === 0) return { allowed: true, now, count, oldest: count > 0 ? stamps[head] : null };
  const grown = count + cost;
  if (grown > stamps.length || (count > 0 && stamps.length >= SHRINK_FROM && count * 8 <= stamps.length)) {
    stamps = log.stamps = resized(stamps, head, count, grown);
    head = log.head = 0;
  }
  for (let at = head + count, end = at + cost; at < end; at++) {
    stamps[at < stamps.length ? at : at - stamps.length] = now;
  }
  log.count = grown;
  return { allowed: true, now, count: grown, oldest: stamps[head] };
}

/**
 * A refused hit on a log already trimmed to the window: blocked, or by count. A limit of 0 and a
 * log longer than the limit (another throttle's, sharing it) are reported as
 * DRF does (the true count: no wait when it passes the limit); a cost that
 * never fits reports `limit + 1` (no wait either). Otherwise the hit fits
 * again once the `count + need - limit`-th oldest stamp leaves the window:
 * `count = limit` and that stamp as `oldest` make DRF's formula that wait.
 */
function slidingLogRefusal(
  log: SlidingLog,
  limit: number,
  duration: number,
  now: number,
  cost: number,
  blockSec: number,
): HitResult {
  if (log.blockedUntil > now) return blockedResult(log.blockedUntil, limit, duration, now);
  const { stamps, head, count } = log;
  const oldest = count > 0 ? stamps[head] : null;
  if (limit <= 0) return { allowed: false, now, count, oldest };
  if (cost > limit) return { allowed: false, now, count: Math.max(count, limit + 1), oldest };
  const at = head + count + Math.max(cost, 1) - limit - 1;
  const freeing = stamps[at < stamps.length ? at : at - stamps.length];
  if (blockSec > 0) return startBlock(log, now + blockSec, freeing + duration, limit, duration, now);
  return count > limit
    ? { allowed: false, now, count, oldest }
    : { allowed: false, now, count: limit, oldest: freeing };
}

/**
 * Gives back `cost` of the newest stamps still in the window (never below
 * empty); the block, if any, stays. Mutates `log`.
 */
export function slidingLogRefund(log: SlidingLog, duration: number, now: number, cost: number): void {
  const { stamps } = log;
  const cutoff = now - duration;
  while (log.count > 0 && stamps[log.head] <= cutoff) {
    if (++log.head === stamps.length) log.head = 0;
    log.count--;
  }
  log.count = Math.max(0, log.count - cost);
}

/**
 * Whether {@link slidingLogHit} would admit a hit of cost 1 at `now`, without
 * changing the log: for a store choosing which key it may forget without
 * letting a refused client in. O(1) for a log no longer than its limit.
 */
export function slidingLogHasRoom(log: SlidingLog, limit: number, duration: number, now: number): boolean {
  const { stamps, head, count } = log;
  if (log.blockedUntil > now) return false;
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
  return { stamps: [0], head: 0, count: 0, blockedUntil: -Infinity };
}

/**
 * A ring's stamps in order, twice (or `room` long, if longer): a ring from 0
 * whose second part is free space. Used when a hit needs more room, and to
 * shrink a mostly empty ring.
 */
function resized(stamps: number[], head: number, count: number, room: number): number[] {
  const end = head + count;
  const live =
    end <= stamps.length ? stamps.slice(head, end) : stamps.slice(head).concat(stamps.slice(0, end - stamps.length));
  const ring = live.length === 0 ? [0] : live.concat(live);
  while (ring.length < room) ring.push(0);
  return ring;
}

/** A log's stamps, newest first (DRF's history list). */
export function historyOf(log: SlidingLog): number[] {
  const { stamps, head, count } = log;
  const history = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const at = head + count - 1 - i;
    history[i] = stamps[at < stamps.length ? at : at - stamps.length];
  }
  return history;
}

/**
 * A log's standing at `now`, as an admitted look reports it (the block not
 * asked): for a hit decided but not recorded (`hitAll`).
 */
export function slidingLogStanding(log: SlidingLog, duration: number, now: number): HitResult {
  const { stamps, head, count } = log;
  const cutoff = now - duration;
  let at = head;
  let left = count;
  while (left > 0 && stamps[at] <= cutoff) {
    if (++at === stamps.length) at = 0;
    left--;
  }
  return { allowed: true, now, count: left, oldest: left > 0 ? stamps[at] : null };
}
