/**
 * A key's block, for both algorithms: starting one (a refusal by count with `blockSec`, an admin's block) and
 * the report of a hit it refuses, which DRF's wait formula turns into the time until it ends.
 */
import type { HitResult } from './throttle-store';

/**
 * Blocks a key until `max(until, freeAt)`, keeping a longer block already
 * there, and reports it: a refusal by count with `blockSec`, and an admin's
 * block (`freeAt` `-Infinity`). Mutates `state`.
 */
export function startBlock(
  state: { blockedUntil: number },
  until: number,
  freeAt: number,
  limit: number,
  duration: number,
  now: number,
): HitResult {
  state.blockedUntil = Math.max(state.blockedUntil, until, freeAt);
  return blockedResult(state.blockedUntil, limit, duration, now);
}

/**
 * A hit refused by a block: `count = limit` and `oldest = blockedUntil -
 * duration`, so DRF's formula (`(duration - (now - oldest)) / 1`) waits
 * exactly until the block ends, and the headers say the same.
 */
export function blockedResult(blockedUntil: number, limit: number, duration: number, now: number): HitResult {
  return { allowed: false, now, count: limit, oldest: blockedUntil - duration };
}
