import type { Store } from 'cache-manager';
import { monotonicSeconds, type HitResult, type ThrottleStore } from './throttle-store';

/** One key's sliding log: timestamps `t[h..]`, oldest first, and when the key expires. */
interface LogEntry {
  t: number[];
  h: number;
  /** Expiry in the throttle clock's seconds. */
  exp: number;
}

/** A plain cached value, for the cache-manager `Store` side of this class. */
interface ValueEntry {
  t: null;
  v: unknown;
  /** Expiry in `Date.now()` milliseconds, `Infinity` for none. */
  exp: number;
}

type Entry = LogEntry | ValueEntry;

/** Expired entries looked at (and dropped) from the cold end on each hit. */
const SWEEP_PER_HIT = 2;
/** A log compacts its consumed head once it is this long and over half the array. */
const COMPACT_AT = 32;

/**
 * The default, in-process store. A decision is synchronous, so it is atomic
 * without a lock, and costs O(1) amortised whatever the limit: the log is an
 * array used as a queue. Keys are bounded: least recently used first out,
 * expired ones swept a few at a time from the cold end. No timer anywhere.
 *
 * It is also a cache-manager `Store`, so the module's default cache is a
 * regular cache-manager cache (`createCache(new MemoryThrottleStore())`).
 */
export class MemoryThrottleStore implements ThrottleStore, Store {
  readonly ownClock = false;
  private readonly entries = new Map<string, Entry>();

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

  hit(key: string, limit: number, durationSec: number, now: number = this.clock()): HitResult {
    const entries = this.entries;
    this.sweep(now);
    let entry = entries.get(key);
    if (entry !== undefined) {
      entries.delete(key); // re-inserted below: most recently used
    }
    let log: LogEntry;
    if (entry === undefined || entry.t === null || entry.exp <= now) {
      log = { t: [], h: 0, exp: 0 };
    } else {
      log = entry;
      const cutoff = now - durationSec;
      const t = log.t;
      let h = log.h;
      while (h < t.length && t[h] <= cutoff) h++;
      log.h = h;
    }
    entries.set(key, log);
    if (entries.size > this.maxKeys) this.evict();

    const count = log.t.length - log.h;
    if (count >= limit) {
      return { allowed: false, now, count, oldest: count > 0 ? log.t[log.h] : null };
    }
    if (log.h >= COMPACT_AT && log.h * 2 >= log.t.length) {
      log.t = log.t.slice(log.h);
      log.h = 0;
    }
    log.t.push(now);
    log.exp = now + durationSec;
    return { allowed: true, now, count: count + 1, oldest: log.t[log.h] };
  }

  /** Drops expired keys from the cold end, then the least recently used above the bound. */
  private sweep(now: number): void {
    const entries = this.entries;
    let looked = 0;
    for (const [key, entry] of entries) {
      if (looked++ >= SWEEP_PER_HIT) break;
      const expired = entry.t === null ? entry.exp <= Date.now() : entry.exp <= now;
      if (!expired) break;
      entries.delete(key);
    }
  }

  /** Least recently used out until the bound holds. */
  private evict(): void {
    const entries = this.entries;
    for (const key of entries.keys()) {
      if (entries.size <= this.maxKeys) break;
      entries.delete(key);
    }
  }

  // --- cache-manager Store -------------------------------------------------

  async get<T>(key: string): Promise<T | undefined> {
    return this.read(key) as T | undefined;
  }

  async set<T>(key: string, data: T, ttl?: number): Promise<void> {
    this.write(key, data, ttl);
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async reset(): Promise<void> {
    this.entries.clear();
  }

  async mset(pairs: Array<[string, unknown]>, ttl?: number): Promise<void> {
    for (const [key, value] of pairs) this.write(key, value, ttl);
  }

  async mget(...keys: string[]): Promise<unknown[]> {
    return keys.map((key) => this.read(key));
  }

  async mdel(...keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  async keys(pattern?: string): Promise<string[]> {
    const all = [...this.entries.keys()].filter((key) => this.read(key) !== undefined);
    if (pattern === undefined || pattern === '*') return all;
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    return all.filter((key) => regex.test(key));
  }

  async ttl(key: string): Promise<number> {
    const entry = this.entries.get(key);
    if (entry === undefined) return -1;
    if (entry.t !== null) return Math.max(0, (entry.exp - this.clock()) * 1000);
    return entry.exp === Infinity ? 0 : Math.max(0, entry.exp - Date.now());
  }

  /** A log reads as DRF's history list, newest first. */
  private read(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.t !== null) {
      if (entry.exp <= this.clock()) return undefined;
      return entry.t.slice(entry.h).reverse();
    }
    if (entry.exp <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.v;
  }

  private write(key: string, value: unknown, ttl?: number): void {
    if (value === undefined) throw new TypeError(`no cacheable value for key '${key}'`);
    const exp = ttl === undefined || ttl <= 0 ? Infinity : Date.now() + ttl;
    this.entries.delete(key);
    this.sweep(this.clock());
    this.entries.set(key, { t: null, v: value, exp });
    if (this.entries.size > this.maxKeys) this.evict();
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
