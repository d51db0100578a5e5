/**
 * The one seam between *what* is counted (a throttle: scope, key, rate) and
 * *how* it is counted (a store). A store makes one whole step atomic for a
 * key and returns what `wait()` and the rate-limit headers need, so no
 * throttle keeps state.
 *
 * `'sliding-log'` is DRF's algorithm: drop timestamps `<= now - duration`;
 * if `count >= limit` deny and record nothing; otherwise record `now` and
 * keep the key alive for `duration`. `'gcra'` keeps one number per key (the
 * theoretical arrival time) and reports its state in the same shape: a
 * denied hit has `count = limit` and `oldest = nextAllowedAt - duration`, so
 * DRF's wait formula gives GCRA's exact wait.
 */
export interface HitResult {
  /** Whether the request is admitted. */
  readonly allowed: boolean;
  /** The clock reading the decision used, in seconds. */
  readonly now: number;
  /** Requests counted in the window after this call (the denied request is not counted). */
  readonly count: number;
  /** The oldest timestamp still counted, or `null` for an empty window. */
  readonly oldest: number | null;
}

/** How a store counts: DRF's exact sliding log, or constant-memory GCRA. */
export type ThrottleAlgorithm = 'sliding-log' | 'gcra';

export interface ThrottleStore {
  /**
   * `true` when the store reads its own clock (Redis: the server's `TIME`),
   * so that processes with skewed clocks agree. Throttles pass `undefined`
   * for `now` then, unless the module was given an explicit `clock`.
   */
  readonly ownClock: boolean;
  /**
   * Check and record one request, atomically per key. `now` in seconds.
   * `scope`: the asking throttle's scope, for a store that bounds its keys
   * per scope (the memory store), so that a flood of new keys in one scope
   * cannot evict another's; other stores may ignore it.
   */
  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number | undefined,
    algorithm?: ThrottleAlgorithm,
    scope?: string,
  ): HitResult | Promise<HitResult>;
  /**
   * Forgets the counts this store holds (tests): at least every key matching
   * one of the glob patterns (the cache formats of the throttles using it);
   * a store that holds nothing else may forget everything.
   */
  reset?(keyPatterns: readonly string[]): void | Promise<void>;
}

/** A process-wide clock in seconds that never jumps: wall time at start plus monotonic time since. */
export function monotonicSeconds(): number {
  return (TIME_ORIGIN + performance.now()) / 1000;
}

/** Read once: `performance.timeOrigin` is a getter, and this clock is read on every hit. */
const TIME_ORIGIN = performance.timeOrigin;
