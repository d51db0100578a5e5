/**
 * One key of a get/set cache being decided: its value read once, the steps of algorithms.ts applied hit after
 * hit (or a refund, a block), and what to write back once, with its TTL.
 */
import type { ThrottleAlgorithm, HitResult } from '../throttle-store';
import {
  gcraHit,
  gcraRefund,
  gcraStandingOf,
  slidingLogHit,
  slidingLogRefund,
  slidingLogStanding,
  startBlock,
  type GcraState,
  type SlidingLog,
} from '../algorithms';
import { gcraFromValue, logFromValue, valueOfGcra, valueOfLog } from './stored-value';

/** What a step on the key needs: the rate and algorithm, and the hit's own arguments. */
export interface KeyStep {
  readonly limit: number;
  readonly duration: number;
  readonly now: number;
  readonly algorithm: ThrottleAlgorithm;
  readonly cost: number;
  readonly blockSec: number;
}

/**
 * A key's value under decision. The cache's object is never mutated: the
 * value is read into a state once, and a key switching algorithms is read
 * again from the value the other state would write (its block kept).
 */
export class KeyDecision {
  private value: unknown;
  private log: SlidingLog | undefined;
  private gcra: GcraState | undefined;
  /** Whether something was recorded, refunded or blocked: the value must be written. */
  private changed = false;
  /** The duration of the last step that changed the key, and its clock: the TTL's floor and its origin. */
  private lastDuration = 0;
  private lastNow = 0;

  constructor(stored: unknown) {
    this.value = stored;
  }

  /** Decides one hit, as the memory store would. */
  hit(step: KeyStep): HitResult {
    const state = this.state(step.algorithm, step.now);
    const blockedBefore = state.blockedUntil;
    const result =
      'tat' in state
        ? gcraHit(state, step.limit, step.duration, step.now, step.cost, step.blockSec)
        : slidingLogHit(state, step.limit, step.duration, step.now, step.cost, step.blockSec);
    if ((result.allowed && step.cost !== 0) || state.blockedUntil > blockedBefore) this.touched(step);
    return result;
  }

  /** The key's standing, as an admitted look reports it (for a hit decided but not recorded). */
  standing(step: KeyStep): HitResult {
    const state = this.state(step.algorithm, step.now);
    return 'tat' in state
      ? gcraStandingOf(state, step.limit, step.duration, step.now)
      : slidingLogStanding(state, step.duration, step.now);
  }

  /** When the key's block ends (`-Infinity`: none), as decided so far. */
  blockedUntil(step: KeyStep): number {
    return this.state(step.algorithm, step.now).blockedUntil;
  }

  /** Blocks the key until `until` (a longer block kept). */
  block(until: number, step: KeyStep): void {
    const state = this.state(step.algorithm, step.now);
    const before = state.blockedUntil;
    startBlock(state, until, -Infinity, step.limit, step.duration, step.now);
    if (state.blockedUntil > before) this.touched(step);
  }

  /** Gives back `step.cost` of the newest records. A key holding nothing is left unwritten. */
  refund(step: KeyStep): void {
    const state = this.state(step.algorithm, step.now);
    if ('tat' in state) {
      if (state.tat === -Infinity) return;
      gcraRefund(state, step.limit, step.duration, step.now, step.cost);
    } else {
      if (state.count === 0) return;
      slidingLogRefund(state, step.duration, step.now, step.cost);
    }
    this.touched(step);
  }

  /**
   * The value to write and its TTL in ms, or `undefined` when nothing changed. The TTL covers the state: at
   * least the last changing step's duration of real time (`now` may be a test clock, unrelated to the cache's),
   * GCRA's `tat` and the block.
   */
  toWrite(): { value: unknown; ttl: number } | undefined {
    if (!this.changed) return undefined;
    const now = this.lastNow;
    let lasts = this.lastDuration;
    if (this.gcra !== undefined) {
      lasts = Math.max(lasts, this.gcra.tat - now, this.gcra.blockedUntil - now);
      this.value = valueOfGcra(this.gcra, now);
    } else if (this.log !== undefined) {
      lasts = Math.max(lasts, this.log.blockedUntil - now);
      this.value = valueOfLog(this.log, now);
    }
    return { value: this.value, ttl: Math.ceil(lasts * 1000) };
  }

  private touched(step: KeyStep): void {
    this.changed = true;
    this.lastDuration = step.duration;
    this.lastNow = step.now;
  }

  /** The state for `algorithm`, read from the value (or from the other algorithm's state, written out). */
  private state(algorithm: ThrottleAlgorithm, now: number): SlidingLog | GcraState {
    if (algorithm === 'gcra') {
      if (this.log !== undefined) this.value = valueOfLog(this.log, now);
      this.log = undefined;
      this.gcra ??= gcraFromValue(this.value);
      return this.gcra;
    }
    if (this.gcra !== undefined) this.value = valueOfGcra(this.gcra, now);
    this.gcra = undefined;
    this.log ??= logFromValue(this.value);
    return this.log;
  }
}
