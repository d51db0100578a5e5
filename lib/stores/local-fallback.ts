/**
 * `onCacheError: 'local'`: while a shared cache is out, this process limits on its own memory store, each
 * limit divided by the number of processes that share the cache.
 */
import { MemoryThrottleStore } from './memory/memory.store';
import type { HitResult, ThrottleAlgorithm } from './throttle-store';

/** A hit the shared cache could not decide, with what a store needs to decide it without the cache. */
export interface UndecidedHit {
  readonly key: string;
  readonly limit: number;
  readonly duration: number;
  /** The throttle's clock in seconds, or `undefined` (the store reads its own). */
  readonly now: number | undefined;
  readonly algorithm: ThrottleAlgorithm;
  /** The hit's cost (default 1) and block (default 0), as `ThrottleStore.hit` takes them. */
  readonly cost?: number;
  readonly blockSec?: number;
}

/** What {@link LocalFallback} is built with: the module's `localFallback` option and the memory store's bound. */
export interface LocalFallbackOptions {
  /** Processes sharing the cache: each limit is divided by this, rounded up. Default 1. */
  readonly processes?: number;
  /** Keys kept at most (the default memory store's bound). Default 500 000. */
  readonly maxKeys?: number;
}

/**
 * The in-process limiter of one shared cache while it is out. A key's limit
 * here is `ceil(limit / processes)`, so that the processes together admit
 * about what the shared store would have. Counts kept here are never written
 * to the shared store: when it recovers it decides again on what it holds.
 *
 * Answers are put in the throttle's terms: `count` is moved up by what the
 * division took away, so a local refusal has `count === limit` (DRF's wait
 * and `Retry-After` come out as the local wait) and the rate-limit headers'
 * remaining is what is left locally.
 */
export class LocalFallback {
  readonly processes: number;
  private readonly store: MemoryThrottleStore;

  constructor(options: LocalFallbackOptions = {}) {
    this.processes = options.processes ?? 1;
    this.store = new MemoryThrottleStore(options.maxKeys ?? 500_000);
  }

  /** Decides `hit` in this process, at its share of the limit. */
  hit(hit: UndecidedHit): HitResult {
    const share = this.share(hit.limit);
    const { key, duration, now, algorithm, cost, blockSec } = hit;
    return this.inTerms(hit, this.store.hit(key, share, duration, now, algorithm, undefined, cost, blockSec));
  }

  /** Decides the hits of one request in this process, all or none (`ThrottleStore.hitAll`), at their shares. */
  hitAll(hits: readonly UndecidedHit[], now: number | undefined): HitResult[] {
    const shared = hits.map(({ key, limit, duration: durationSec, algorithm, cost, blockSec }) => {
      return { key, limit: this.share(limit), durationSec, algorithm, cost, blockSec };
    });
    return this.store.hitAll(shared, now).map((result, i) => this.inTerms(hits[i], result));
  }

  private share(limit: number): number {
    return Math.ceil(limit / this.processes);
  }

  /**
   * A local answer in the throttle's terms: the count moved up by what the division took away; provisional: it
   * stands for this request only.
   */
  private inTerms(hit: UndecidedHit, result: HitResult): HitResult {
    return { ...result, count: result.count + hit.limit - this.share(hit.limit), provisional: true };
  }
}
