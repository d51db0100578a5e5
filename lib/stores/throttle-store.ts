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
  /**
   * `true` when the answer was made without the shared store's counts: the
   * Redis store's overload refusal (its queue had no room for the key), or
   * the `'local'` fallback's answer during an outage. It stands for this
   * request only: the Redis store's refusal cache learns only what Redis
   * itself decided.
   */
  readonly provisional?: boolean;
}

/** How a store counts: DRF's exact sliding log, or constant-memory GCRA. */
export type ThrottleAlgorithm = 'sliding-log' | 'gcra';

/** What a key is counted by: its rate and algorithm, for the calls that act on a key outside a hit. */
export interface KeySpec {
  readonly limit: number;
  readonly durationSec: number;
  readonly algorithm: ThrottleAlgorithm;
  readonly scope?: string;
}

/** One hit of a request decided by {@link ThrottleStore.hitAll}: the arguments of {@link ThrottleStore.hit}. */
export interface StoreHit extends KeySpec {
  readonly key: string;
  /** Default 1. */
  readonly cost?: number;
  /** Default 0. */
  readonly blockSec?: number;
}

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
   * cannot evict another's, or its queue (Redis), so that it cannot crowd
   * another's hits out; other stores may ignore it.
   *
   * `cost` (default 1, a whole number >= 0): how many requests this one
   * counts as. Allowed iff `count + max(cost, 1) <= limit` (DRF's rule for
   * 1); then `cost` is recorded (`cost` stamps of `now`, or `cost`
   * intervals of GCRA). Cost 0 is a look: decided the same way, recording
   * nothing (admitted, it reports the key's standing). A hit whose cost can
   * never fit (`cost > limit >= 1`) is refused, records nothing, starts no
   * block and reports `count = limit + 1` (or the log's count, if larger), so
   * DRF's formula gives no wait. A refusal by count reports `count = limit`
   * and an `oldest` such that DRF's formula gives the exact wait until that
   * cost fits (the log: the `count + cost - limit`-th oldest stamp); but, as
   * in DRF, a log longer than the limit (shared with another throttle)
   * reports its count and no wait, and a limit of 0 its count and oldest.
   *
   * `blockSec` (default 0): a hit refused by the count blocks the key until
   * `max(now + blockSec, when it would have room again for this cost)`;
   * while blocked, every hit (looks included) is refused, records nothing
   * and does not extend the block. A refusal by a block reports
   * `count = limit` and `oldest = blockedUntil - duration`, so DRF's formula
   * gives the exact wait; the hit that starts a block reports it the same way.
   */
  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number | undefined,
    algorithm?: ThrottleAlgorithm,
    scope?: string,
    cost?: number,
    blockSec?: number,
  ): HitResult | Promise<HitResult>;
  /**
   * All or none (the module's `countRefused: false`): decides every
   * hit of one request at once, atomically across its keys, in order (a key
   * hit twice sees its first record), and records them only if every one is
   * allowed; otherwise records none and returns each key's own answer (a
   * hit that would have been allowed comes back allowed, recorded nowhere,
   * reporting the key's standing as a look would). A refusal still starts
   * its key's block (`blockSec`). Results in the order of `hits`. Optional:
   * a store without it cannot serve a route where that option is on, and
   * the module says so at startup.
   */
  hitAll?(hits: readonly StoreHit[], now: number | undefined): HitResult[] | Promise<HitResult[]>;
  /**
   * Gives back `cost` of a recorded hit (the newest ones first: the log's
   * newest stamps, GCRA's last intervals): a brute-force throttle's
   * successful attempt, an admin's reward. Never below an empty key; a
   * blocked key stays blocked. A key counted by another algorithm than
   * `spec`'s is left alone.
   */
  refund?(key: string, cost: number, spec: KeySpec, now: number | undefined): void | Promise<void>;
  /**
   * Blocks `key` for `seconds` from now (an admin's block): every hit is
   * refused, recording nothing, until then; the result's `count = limit`
   * and `oldest = blockedUntil - duration`, so the wait and the headers say
   * when it ends. A longer block already there is kept.
   */
  block?(key: string, seconds: number, spec: KeySpec, now: number | undefined): void | Promise<void>;
  /** Forgets one key: its count and any block (an admin's reset, a brute-force throttle's success). */
  forget?(key: string): void | Promise<void>;
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
