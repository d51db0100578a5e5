/**
 * The store for any cache that only offers get/set (cache-manager, Keyv, memcached...): the steps of
 * algorithms.ts on the value read, one get and one set per round of hits on a key.
 */
import type { ThrottleCache } from '../../module/options';
import { CacheFaults, type HitCallbacks } from '../cache-faults';
import type { CallDeadline } from '../deadline';
import { monotonicSeconds, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from '../throttle-store';
import { gcraHit, slidingLogHit, type GcraState, type SlidingLog } from '../algorithms';
import { gcraFromValue, logFromValue, valueOfGcra, valueOfLog } from './stored-value';

/** A hit waiting for its key's next get. */
interface WaitingHit extends HitCallbacks {
  readonly limit: number;
  readonly duration: number;
  readonly now: number;
  readonly gcra: boolean;
  readonly cost: number;
  readonly blockSec: number;
  /** `performance.now()` when the hit arrived: its whole wait counts against the deadline. */
  readonly arrivedAt: number;
}

/** A key with a round (one get, one set) in progress, and the hits waiting for the next one. */
interface KeyRounds {
  waiting: WaitingHit[];
}

/**
 * Any other cache (cache-manager 5/6/7, Keyv, memcached...) through its
 * `get`/`set`, with DRF's value format for the sliding log (the history
 * list, newest first) and one number for GCRA.
 *
 * Exact within one process: the hits on a key are decided in rounds, one
 * at a time per key. A round takes every hit waiting when its `get`
 * answers, decides each in arrival order on the value read, and writes the
 * result with one `set` (none if every hit was denied). Hits arriving during
 * the `set` wait for the next round. So 30 concurrent hits cost one get and
 * one set, and a hit waits at most for the round in progress plus its own.
 * Processes sharing such a cache can over-admit: the limit holds per process.
 *
 * A round's deadline is `cacheTimeoutMs` from the arrival of its oldest hit,
 * queue included. A round whose deadline passes during the `get` writes
 * nothing (its hits were answered without the cache); one that passes
 * during the `set` cannot take the written value back.
 */
export class CacheManagerStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly rounds = new Map<string, KeyRounds>();

  constructor(
    private readonly cache: ThrottleCache,
    private readonly faults: CacheFaults = new CacheFaults({ name: 'custom', policy: 'deny', timeoutMs: Infinity }),
  ) {}

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number = monotonicSeconds(),
    algorithm?: ThrottleAlgorithm,
    _scope?: string,
    cost = 1,
    blockSec = 0,
  ): Promise<HitResult> {
    const rounds = this.rounds.get(key);
    if (rounds === undefined && !this.faults.mayCall()) {
      const undecided = { key, limit, duration: durationSec, now, algorithm: algorithm ?? 'sliding-log' } as const;
      return this.faults.withoutCache(undecided);
    }
    return new Promise<HitResult>((resolve, reject) => {
      const gcra = algorithm === 'gcra';
      const arrivedAt = performance.now();
      const hit: WaitingHit = { limit, duration: durationSec, now, gcra, cost, blockSec, arrivedAt, resolve, reject };
      if (rounds !== undefined) {
        rounds.waiting.push(hit);
        return;
      }
      const started: KeyRounds = { waiting: [hit] };
      this.rounds.set(key, started);
      void this.round(key, started);
    });
  }

  /** One get, the decisions of every hit waiting by then, one set; then the next round if hits arrived meanwhile. */
  private async round(key: string, rounds: KeyRounds): Promise<void> {
    const startedAt = this.faults.now();
    let taken: WaitingHit[] = [];
    const deadline = this.faults.deadline(
      () => {
        this.answerWithout(key, [...taken, ...rounds.waiting]);
        rounds.waiting = [];
        // The key is free again, but CacheFaults lets only one probe a second through while this call hangs.
        if (this.rounds.get(key) === rounds) this.rounds.delete(key);
      },
      rounds.waiting[0].arrivedAt + this.faults.timeoutMs - performance.now(),
    );
    try {
      const stored = await this.cache.get<unknown>(key);
      if (deadline.expired) return this.faults.lateAnswer();
      taken = rounds.waiting;
      rounds.waiting = [];
      const { value, results, ttl } = decide(stored, taken);
      if (ttl !== undefined) await this.cache.set(key, value, ttl);
      if (!deadline.answered()) return this.faults.lateAnswer();
      for (let i = 0; i < taken.length; i++) taken[i].resolve(results[i]);
      this.faults.succeeded();
    } catch (error) {
      if (!deadline.answered()) return this.faults.lateAnswer();
      this.faults.failed(error, startedAt);
      // The hits behind a failed call fail at once rather than each waiting on a dead cache.
      this.answerWithout(key, [...taken, ...rounds.waiting]);
      rounds.waiting = [];
    }
    this.next(key, rounds);
  }

  private next(key: string, rounds: KeyRounds): void {
    if (rounds.waiting.length > 0) void this.round(key, rounds);
    else this.rounds.delete(key);
  }

  private answerWithout(key: string, hits: readonly WaitingHit[]): void {
    for (const hit of hits) {
      const algorithm = hit.gcra ? 'gcra' : 'sliding-log';
      this.faults.answer(hit, { key, limit: hit.limit, duration: hit.duration, now: hit.now, algorithm });
    }
  }
}

/** The decisions of `hits` in order on `stored`, the value to write, and its TTL (`undefined`: nothing to write). */
function decide(stored: unknown, hits: readonly WaitingHit[]): { value: unknown; results: HitResult[]; ttl?: number } {
  let value = stored;
  let ttl: number | undefined;
  /** The state being decided, read from `value` once per round: the cache's object is never mutated. */
  let log: SlidingLog | undefined;
  let gcra: GcraState | undefined;
  let now = 0;
  const results = hits.map((hit) => {
    now = hit.now;
    let result: HitResult;
    let blockedUntil: number;
    let lasts = hit.duration;
    if (hit.gcra) {
      if (log !== undefined) value = valueOfLog(log, now);
      log = undefined;
      gcra ??= gcraFromValue(value);
      const state = gcra;
      blockedUntil = state.blockedUntil;
      result = gcraHit(state, hit.limit, hit.duration, now, hit.cost, hit.blockSec);
      lasts = Math.max(lasts, state.tat - now, state.blockedUntil - now);
      blockedUntil = state.blockedUntil - blockedUntil;
    } else {
      if (gcra !== undefined) value = valueOfGcra(gcra, now);
      gcra = undefined;
      log ??= logFromValue(value);
      const state = log;
      blockedUntil = state.blockedUntil;
      result = slidingLogHit(state, hit.limit, hit.duration, now, hit.cost, hit.blockSec);
      lasts = Math.max(lasts, state.blockedUntil - now);
      blockedUntil = state.blockedUntil - blockedUntil;
    }
    // Written when something was recorded or a block started; kept at least a whole duration of real time
    // (`now` may be a test clock, unrelated to the cache's), and as long as the state means something.
    if ((result.allowed && hit.cost !== 0) || blockedUntil > 0) ttl = Math.ceil(lasts * 1000);
    return result;
  });
  if (log !== undefined) value = valueOfLog(log, now);
  if (gcra !== undefined) value = valueOfGcra(gcra, now);
  return { value, results, ttl };
}
