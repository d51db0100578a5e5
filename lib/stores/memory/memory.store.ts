import { monotonicSeconds, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from '../throttle-store';

/** A key's node in the recency list: its key, neighbours, expiry. Object literals: class instances measured 15% slower. */
interface Links {
  readonly key: string;
  older: Entry | null;
  newer: Entry | null;
  /** In the store's clock: from then on the entry means nothing and may be swept. */
  expiresAt: number;
}

/** A sliding log: `count` admitted timestamps, oldest first, from `stamps[head]` in a ring (wrapping at its length). */
interface LogEntry extends Links {
  readonly algorithm: 'sliding-log';
  stamps: number[];
  head: number;
  count: number;
}

/**
 * GCRA: one number, the theoretical arrival time. Kept as long as a log would be (`duration` after its last
 * admission), not dropped at `tat`: that made a client who comes back every few seconds a map delete and insert per hit.
 */
interface GcraEntry extends Links {
  readonly algorithm: 'gcra';
  tat: number;
}

type Entry = LogEntry | GcraEntry;

/** Expired entries dropped from the cold end (another key's memory, cold under load): up to 2 before a key is added, 32 every 16th hit. */
const SWEEP_ON_INSERT = 2;
const SWEEP_EVERY = 16;
/** A ring at least this large shrinks once it is an eighth full (to twice its count). */
const SHRINK_FROM = 64;

/**
 * The default, in-process store. A decision is synchronous, so it is atomic without a lock, and costs O(1)
 * amortised whatever the limit: the log is a ring of timestamps, GCRA one number. Keys are bounded: least
 * recently used first out, expired ones swept a few at a time from the cold end. No timer, one clock.
 *
 * Recency is a doubly linked list through the entries, not the Map's insertion order: re-inserting a key
 * on every hit leaves a deleted slot that V8 walks over whenever the cold end is looked at, so clients that
 * come back in turn (10 000 clients round-robin) made every hit O(keys). The Map changes only when a key
 * comes or goes. A log is a ring rather than a queue compacted now and then: a steady key copies nothing.
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

  hit(key: string, limit: number, durationSec: number, now: number = this.clock(), algorithm: ThrottleAlgorithm = 'sliding-log'): HitResult {
    if (--this.hitsToSweep === 0) {
      this.hitsToSweep = SWEEP_EVERY;
      this.sweep(now, 2 * SWEEP_EVERY);
    }
    return algorithm === 'gcra' ? this.gcra(key, limit, durationSec, now) : this.slidingLog(key, limit, durationSec, now);
  }

  /** Forgets every count. */
  reset(): void {
    this.entries.clear();
    this.cold = this.hot = null;
  }

  /** DRF's log: drop timestamps `<= now - duration`; deny at `limit`; else record `now`. */
  private slidingLog(key: string, limit: number, durationSec: number, now: number): HitResult {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.algorithm !== 'sliding-log' || entry.expiresAt <= now) {
      if (entry !== undefined) this.remove(entry);
      if (limit <= 0) return { allowed: false, now, count: 0, oldest: null };
      // Born holding its timestamp, in a ring of one: most keys (one visit per client) never need more.
      this.insert({ key, older: null, newer: null, expiresAt: now + durationSec, algorithm: 'sliding-log', stamps: [now], head: 0, count: 1 }, now);
      return { allowed: true, now, count: 1, oldest: now };
    }
    this.touch(entry);
    let stamps = entry.stamps;
    let head = entry.head;
    let count = entry.count;
    const cutoff = now - durationSec;
    while (count > 0 && stamps[head] <= cutoff) {
      if (++head === stamps.length) head = 0;
      count--;
    }
    if (count >= limit) {
      entry.head = head;
      entry.count = count;
      return { allowed: false, now, count, oldest: count > 0 ? stamps[head] : null };
    }
    if (count === stamps.length || (count > 0 && stamps.length >= SHRINK_FROM && count * 8 <= stamps.length)) {
      stamps = entry.stamps = resized(stamps, head, count);
      head = 0;
    }
    const tail = head + count;
    stamps[tail < stamps.length ? tail : tail - stamps.length] = now;
    entry.head = head;
    entry.count = count + 1;
    entry.expiresAt = now + durationSec;
    return { allowed: true, now, count: count + 1, oldest: stamps[head] };
  }

  /**
   * GCRA, exactly as `test/helpers/gcra-model.ts` states it (same operations,
   * same order), `slack` included: the rounding a burst accumulates at Unix times.
   */
  private gcra(key: string, limit: number, durationSec: number, now: number): HitResult {
    if (limit <= 0) return { allowed: false, now, count: 0, oldest: null };
    let entry = this.entries.get(key);
    if (entry?.algorithm !== 'gcra') {
      if (entry !== undefined) this.remove(entry);
      entry = { key, older: null, newer: null, expiresAt: now + durationSec, algorithm: 'gcra', tat: now };
      this.insert(entry, now);
    } else this.touch(entry);
    const interval = durationSec / limit;
    const slack = Math.min(limit * 1e-6, interval / 2);
    const tat = Math.max(entry.tat, now);
    if (tat + interval - now <= durationSec + slack) {
      const newTat = tat + interval;
      entry.tat = newTat;
      entry.expiresAt = now + durationSec;
      const count = Math.min(limit, Math.ceil((newTat - now - slack) / interval));
      return { allowed: true, now, count, oldest: newTat - durationSec - (count - 1) * interval };
    }
    const nextAllowedAt = tat + interval - durationSec;
    return { allowed: false, now, count: limit, oldest: nextAllowedAt - durationSec };
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

/** A full (or mostly empty) ring's stamps in order, twice: a ring of twice the count from 0, whose second copy is free space. */
function resized(stamps: number[], head: number, count: number): number[] {
  const end = head + count;
  const live = end <= stamps.length ? stamps.slice(head, end) : stamps.slice(head).concat(stamps.slice(0, end - stamps.length));
  return live.concat(live);
}
