/**
 * The store for any cache that only offers get/set (cache-manager, Keyv, memcached...): the steps of
 * algorithms.ts on the value read, one get and one set per round of hits on a key.
 */
import type { ThrottleCache } from '../../module/options';
import { CacheFaults, type HitCallbacks } from '../cache-faults';
import type { UndecidedHit } from '../local-fallback';
import {
  monotonicSeconds,
  type HitResult,
  type KeySpec,
  type StoreHit,
  type ThrottleAlgorithm,
  type ThrottleStore,
} from '../throttle-store';
import { KeyDecision, type KeyStep } from './key-decision';
import { KeyLocks } from './key-locks';

/** A hit waiting for its key's next get. */
interface WaitingHit extends HitCallbacks, KeyStep {
  /** `performance.now()` when the hit arrived: its whole wait counts against the deadline. */
  readonly arrivedAt: number;
}

/** The hits of a key's next round: open to new hits until its get answers. */
interface Batch {
  hits: WaitingHit[];
}

/** One call holding some keys: its work, run with the cache, and its answer without it. */
interface Job {
  readonly keys: readonly string[];
  /** `performance.now()` at the arrival of its oldest request: the deadline counts from there. */
  readonly arrivedAt: number;
  /**
   * Reads, decides and writes. It asks `readInTime()` once its read is answered, and writes nothing if not
   * (its answers were given without the cache), and answers only if `answered()` (the deadline had not passed:
   * the call is in time).
   */
  run(readInTime: () => boolean, answered: () => boolean): Promise<void>;
  /** Answers without the cache: the deadline passed, or the cache failed. */
  without(): void;
  /** Whether there is nothing left to do (a batch answered while it waited): the call is not made. */
  empty?(): boolean;
}

/**
 * Any other cache (cache-manager 5/6/7, Keyv, memcached...) through its
 * `get`/`set`, with DRF's value format for the sliding log (the history
 * list, newest first) and one number for GCRA (stored-value.ts: wrapped as
 * `{ blockedUntil, value }` while the key is blocked).
 *
 * Exact within one process: every read-modify-write holds its keys' locks
 * (key-locks.ts), first come first served. The hits on a key are decided
 * in rounds: a round takes every hit that arrived until its `get` answers,
 * decides each in arrival order on the value read, and writes the result
 * with one `set` (none if nothing was recorded or blocked). Hits arriving
 * during the `set` wait for the next round. So 30 concurrent hits cost one
 * get and one set, and a hit waits at most for the call in progress plus
 * its own. `hitAll` holds all its keys at once (taken in sorted order, so
 * two requests cannot deadlock): one get per key, then the sets, all or
 * none. Processes sharing such a cache can over-admit: the limit holds per
 * process.
 *
 * A call's deadline is `cacheTimeoutMs` from the arrival of its oldest hit,
 * queue included. A call whose deadline passes during a `get` writes
 * nothing (its hits were answered without the cache, and its keys are free
 * again); one that passes during a `set` cannot take the written value back.
 * Once the `get` is answered in time, the rest is timed in the event loop's
 * idle time (CallDeadline.progressed): a cache that answered is alive, and a
 * busy stretch before its `set` is answered is this process's.
 */
export class CacheManagerStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly locks = new KeyLocks();
  /** Per key, the batch waiting for (or in) its get. */
  private readonly open = new Map<string, Batch>();

  constructor(
    private readonly cache: ThrottleCache,
    private readonly faults: CacheFaults = new CacheFaults({ name: 'custom', policy: 'deny', timeoutMs: Infinity }),
  ) {}

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number = monotonicSeconds(),
    algorithm: ThrottleAlgorithm = 'sliding-log',
    _scope?: string,
    cost = 1,
    blockSec = 0,
  ): Promise<HitResult> {
    const open = this.open.get(key);
    if (open === undefined && !this.faults.mayCall()) {
      return this.faults.withoutCache({ key, limit, duration: durationSec, now, algorithm, cost, blockSec });
    }
    return new Promise<HitResult>((resolve, reject) => {
      const arrivedAt = performance.now();
      const hit: WaitingHit = {
        limit,
        duration: durationSec,
        now,
        algorithm,
        cost,
        blockSec,
        arrivedAt,
        resolve,
        reject,
      };
      if (open !== undefined) {
        open.hits.push(hit);
        return;
      }
      const batch: Batch = { hits: [hit] };
      this.open.set(key, batch);
      this.start(this.round(key, batch));
    });
  }

  hitAll(hits: readonly StoreHit[], now: number = monotonicSeconds()): Promise<HitResult[]> {
    const undecided = hits.map((hit) => undecidedOf(hit, now));
    const without = () => this.faults.withoutCacheAll(undecided);
    if (hits.length === 0) return Promise.resolve([]);
    if (!this.faults.mayCall()) return without();
    return new Promise<HitResult[]>((resolve, reject) => {
      const keys = [...new Set(hits.map((hit) => hit.key))];
      const steps = hits.map((hit, i) => ({ ...stepOf(hit, now), key: hit.key, index: i }));
      this.start({
        keys,
        arrivedAt: performance.now(),
        run: async (readInTime, answered) => {
          const stored = await Promise.all(keys.map((key) => this.cache.get<unknown>(key)));
          if (!readInTime()) return;
          const decisions = new Map(keys.map((key, i) => [key, new KeyDecision(stored[i])]));
          const results = steps.map((step) => decisions.get(step.key)!.hit(step));
          if (!results.every((result) => result.allowed)) {
            // None recorded: each key as it was read, but for the blocks its refusals started.
            for (const [i, key] of keys.entries()) {
              const last = steps.findLast((step) => step.key === key)!;
              const original = new KeyDecision(stored[i]);
              original.block(decisions.get(key)!.blockedUntil(last), last);
              decisions.set(key, original);
            }
            for (const step of steps) {
              if (results[step.index].allowed) results[step.index] = decisions.get(step.key)!.standing(step);
            }
          }
          await this.writeAll(decisions);
          if (answered()) resolve(results);
        },
        without: () => void without().then(resolve, reject),
      });
    });
  }

  refund(key: string, cost: number, spec: KeySpec, now: number = monotonicSeconds()): Promise<void> {
    return this.change(key, (decision) => decision.refund({ ...specStep(spec, now), cost }));
  }

  block(key: string, seconds: number, spec: KeySpec, now: number = monotonicSeconds()): Promise<void> {
    return this.change(key, (decision) => decision.block(now + seconds, specStep(spec, now)));
  }

  forget(key: string): Promise<void> {
    // Written as an empty value rather than deleted: `ThrottleCache` promises only get and set.
    return this.change(key, () => undefined, { value: [], ttl: 1000 });
  }

  /** A round on `key`: one get, the decisions of every hit in the batch by then, one set. */
  private round(key: string, batch: Batch): Job {
    const close = () => {
      if (this.open.get(key) === batch) this.open.delete(key);
    };
    return {
      keys: [key],
      arrivedAt: batch.hits[0].arrivedAt,
      run: async (readInTime, answered) => {
        const stored = await this.cache.get<unknown>(key);
        if (!readInTime()) return;
        close();
        const decision = new KeyDecision(stored);
        const results = batch.hits.map((hit) => decision.hit(hit));
        await this.writeAll(new Map([[key, decision]]));
        if (answered()) for (let i = 0; i < results.length; i++) batch.hits[i].resolve(results[i]);
      },
      empty: () => batch.hits.length === 0,
      without: () => {
        close();
        for (const hit of batch.hits) this.faults.answer(hit, { key, ...hit });
        // The hits queued behind a failed call fail at once rather than each waiting on a dead cache.
        const next = this.open.get(key);
        if (next === undefined) return;
        this.open.delete(key);
        for (const hit of next.hits.splice(0)) this.faults.answer(hit, { key, ...hit });
      },
    };
  }

  /** An admin's change of one key: read, `change`, write (or write `fixed`); rejected if the cache fails. */
  private change(
    key: string,
    change: (decision: KeyDecision) => void,
    fixed?: { value: unknown; ttl: number },
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let failure: unknown = new Error(`the throttle cache did not answer within ${this.faults.timeoutMs} ms`);
      this.start({
        keys: [key],
        arrivedAt: performance.now(),
        run: async (readInTime, answered) => {
          try {
            if (fixed !== undefined) await this.cache.set(key, fixed.value, fixed.ttl);
            else {
              const decision = new KeyDecision(await this.cache.get<unknown>(key));
              if (!readInTime()) return;
              change(decision);
              await this.writeAll(new Map([[key, decision]]));
            }
          } catch (error) {
            failure = error;
            throw error;
          }
          if (answered()) resolve();
        },
        without: () => reject(failure),
      });
    });
  }

  private async writeAll(decisions: ReadonlyMap<string, KeyDecision>): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const [key, decision] of decisions) {
      const write = decision.toWrite();
      if (write !== undefined) writes.push(this.cache.set(key, write.value, write.ttl));
    }
    await Promise.all(writes);
  }

  /** Runs `job` once its keys are held, within its deadline; its keys are free again when it ends or expires. */
  private start(job: Job): void {
    this.locks.acquireAll(job.keys, () => void this.run(job));
  }

  private async run(job: Job): Promise<void> {
    const release = () => {
      for (const key of job.keys) this.locks.release(key);
    };
    if (job.empty?.()) return release();
    const startedAt = this.faults.now();
    const deadline = this.faults.deadline(
      () => {
        job.without();
        // The keys are free again, but CacheFaults lets only one probe a second through while this call hangs.
        release();
      },
      job.arrivedAt + this.faults.timeoutMs - performance.now(),
    );
    // In time: the cache answers again (before the answers are given, which may resume a caller at once).
    const answered = (): boolean => {
      if (!deadline.answered()) return false;
      this.faults.succeeded();
      return true;
    };
    // The cache answered the read in time: it is alive, so the write is timed in idle time (a busy stretch
    // between the two round trips is this process', see CallDeadline.progressed).
    const readInTime = (): boolean => {
      if (deadline.expired) return false;
      deadline.progressed();
      return true;
    };
    try {
      await job.run(readInTime, answered);
      if (deadline.expired) return this.faults.lateAnswer();
    } catch (error) {
      if (!deadline.answered()) return this.faults.lateAnswer();
      this.faults.failed(error, startedAt);
      job.without();
    }
    release();
  }
}

/** What a hit of `hitAll` is, for the steps. */
function stepOf(hit: StoreHit, now: number): KeyStep {
  return { ...specStep(hit, now), cost: hit.cost ?? 1, blockSec: hit.blockSec ?? 0 };
}

function specStep(spec: KeySpec, now: number): KeyStep {
  return { limit: spec.limit, duration: spec.durationSec, now, algorithm: spec.algorithm, cost: 1, blockSec: 0 };
}

function undecidedOf(hit: StoreHit, now: number): UndecidedHit {
  const { key, limit, durationSec: duration, algorithm, cost, blockSec } = hit;
  return { key, limit, duration, now, algorithm, cost, blockSec };
}
