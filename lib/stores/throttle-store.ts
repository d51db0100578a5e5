/**
 * The one seam between *what* is counted (a throttle: scope, key, rate) and
 * *how* it is counted (a store). A store makes the whole DRF sliding-log step
 * atomic for a key: drop timestamps `<= now - duration`; if `count >= limit`
 * deny and record nothing; otherwise record `now` and keep the key alive for
 * `duration`. It returns what `wait()` needs, so no throttle keeps state.
 */
export interface HitResult {
  /** Whether the request is admitted. */
  readonly allowed: boolean;
  /** The clock reading the decision used, in seconds. */
  readonly now: number;
  /** Timestamps in the log after this call (the denied request is not counted). */
  readonly count: number;
  /** The oldest timestamp still in the log, or `null` for an empty log. */
  readonly oldest: number | null;
}

export interface ThrottleStore {
  /**
   * `true` when the store reads its own clock (Redis: the server's `TIME`),
   * so that processes with skewed clocks agree. A throttle with an overridden
   * `timer()` still passes its own `now`, which then wins.
   */
  readonly ownClock: boolean;
  /**
   * `true` when the store puts the deadline on each remote call itself and
   * fails queued work fast after a fault (a per-key queue), so the time a
   * request waits its turn is not counted against the cache.
   */
  readonly boundsItsCalls?: boolean;
  /** Check and record one request, atomically per key. `now` in seconds. */
  hit(key: string, limit: number, durationSec: number, now: number | undefined): HitResult | Promise<HitResult>;
}

/** A process-wide clock in seconds that never jumps: wall time at start plus monotonic time since. */
export function monotonicSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
