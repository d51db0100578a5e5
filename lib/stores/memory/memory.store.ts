/**
 * The default store: counts in this process's memory, synchronously (so atomically), bounded in keys.
 */
import { gcraHit, slidingLogHit, type SlidingLog } from '../algorithms';
import { monotonicSeconds, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from '../throttle-store';

/** A key's node in the recency list: its key, neighbours, expiry. Object literals: classes measured 15% slower. */
interface Links {
  readonly key: string;
  older: Entry | null;
  newer: Entry | null;
  /** In the store's clock: from then on the entry means nothing and may be swept. */
  expiresAt: number;
}

interface LogEntry extends Links, SlidingLog {
  readonly algorithm: 'sliding-log';
}

/**
 * GCRA: one number, the theoretical arrival time. Kept as long as a log would be (`duration` after its last
 * admission), not dropped at `tat`: that made a client who comes back every few seconds a map delete and insert
 * per hit.
 */
interface GcraEntry extends Links {
  readonly algorithm: 'gcra';
  tat: number;
}

type Entry = LogEntry | GcraEntry;

/** Expired entries dropped from the cold end (others' memory): up to 2 before a key is added, 32 every 16th hit. */
const SWEEP_ON_INSERT = 2;
const SWEEP_EVERY = 16;

/**
 * The default, in-process store. A decision is synchronous, so it is atomic without a lock, and costs O(1)
 * amortised whatever the limit (the steps of `algorithms.ts`: the log is a ring of timestamps, GCRA one
 * number). Keys are bounded: least recently used first out, expired ones swept a few at a time from the
 * cold end. No timer, one clock.
 *
 * Recency is a doubly linked list through the entries, not the Map's insertion order: re-inserting a key
 * on every hit leaves a deleted slot that V8 walks over whenever the cold end is looked at, so clients that
 * come back in turn (10 000 clients round-robin) made every hit O(keys). The Map changes only when a key
 * comes or goes.
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly entries = new Map<string, Entry>();
  /** Least and most recently used entries: the ends of the recency list. */
  private cold: Entry | null = null;
  private hot: Entry | null = null;
  private hitsToSweep = SWEEP_EVERY;

  /**
   * @param maxKeys most keys kept; the least recently used goes first.
   * @param clock seconds; used when a caller passes no `now`.
   */
  constructor(
    readonly maxKeys = 500_000,
    private readonly clock: () => number = monotonicSeconds,
  ) {
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`MemoryThrottleStore: maxKeys must be a positive integer, got ${String(maxKeys)}`);
    }
  }

  /** Keys held now (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number = this.clock(),
    algorithm: ThrottleAlgorithm = 'sliding-log',
  ): HitResult {
    if (--this.hitsToSweep === 0) {
      this.hitsToSweep = SWEEP_EVERY;
      this.sweep(now, 2 * SWEEP_EVERY);
    }
    const entry = this.entries.get(key);
    // A key switching algorithms starts afresh (in `add`) rather than misreading the other state.
    if (entry === undefined || entry.algorithm !== algorithm) {
      return this.add(entry, key, limit, durationSec, now, algorithm);
    }
    // An expired entry needs no special case: an expired log's stamps are all dropped, and `max(tat, now)` is `now`.
    const result = step(entry, limit, durationSec, now);
    if (result.allowed) entry.expiresAt = now + durationSec;
    this.touch(entry);
    return result;
  }

  /** Forgets every count. */
  reset(): void {
    this.entries.clear();
    this.cold = this.hot = null;
  }

  /** A key's first hit: decided on an empty state, and stored only if admitted (a refused first hit costs nothing). */
  private add(
    old: Entry | undefined,
    key: string,
    limit: number,
    durationSec: number,
    now: number,
    algorithm: ThrottleAlgorithm,
  ): HitResult {
    if (old !== undefined) this.remove(old);
    const expiresAt = now + durationSec;
    // Written out: every entry of an algorithm gets one shape. A log is born a ring of one, as most keys
    // (one visit per client) never need more.
    const entry: Entry =
      algorithm === 'gcra'
        ? { key, older: null, newer: null, expiresAt, algorithm, tat: -Infinity }
        : { key, older: null, newer: null, expiresAt, algorithm, stamps: [0], head: 0, count: 0 };
    const result = step(entry, limit, durationSec, now);
    if (result.allowed) this.insert(entry, now);
    return result;
  }

  /** Drops expired keys from the cold end, up to `most`. */
  private sweep(now: number, most: number): void {
    for (let looked = 0; looked < most; looked++) {
      const entry = this.cold;
      if (entry === null || entry.expiresAt > now) return;
      this.remove(entry);
    }
  }

  /** A new entry, most recently used; then least recently used out until the bound holds. */
  private insert(entry: Entry, now: number): void {
    this.sweep(now, SWEEP_ON_INSERT);
    this.entries.set(entry.key, entry);
    this.append(entry);
    while (this.entries.size > this.maxKeys && this.cold !== null) this.remove(this.cold);
  }

  /** Makes an entry the most recently used. */
  private touch(entry: Entry): void {
    if (entry === this.hot) return;
    this.unlink(entry);
    this.append(entry);
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    this.unlink(entry);
  }

  private append(entry: Entry): void {
    entry.older = this.hot;
    entry.newer = null;
    if (this.hot === null) this.cold = entry;
    else this.hot.newer = entry;
    this.hot = entry;
  }

  private unlink(entry: Entry): void {
    const { older, newer } = entry;
    if (older === null) this.cold = newer;
    else older.newer = newer;
    if (newer === null) this.hot = older;
    else newer.older = older;
  }
}

/** The entry's algorithm decides the hit and updates the entry. */
function step(entry: Entry, limit: number, durationSec: number, now: number): HitResult {
  if (entry.algorithm === 'gcra') return gcraHit(entry, limit, durationSec, now);
  return slidingLogHit(entry, limit, durationSec, now);
}
