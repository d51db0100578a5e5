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
    const share = Math.ceil(hit.limit / this.processes);
    const result = this.store.hit(hit.key, share, hit.duration, hit.now, hit.algorithm);
    const taken = hit.limit - share;
    return taken === 0 ? result : { ...result, count: result.count + taken };
  }
}
