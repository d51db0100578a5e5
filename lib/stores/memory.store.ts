import type { Store } from 'cache-manager';
import { monotonicSeconds, type HitResult, type ThrottleStore } from './throttle-store';

/**
 * Every entry is also a node of the recency list: its key (to leave the map
 * when found at the cold end) and its older and newer neighbours.
 */
interface Links {
  readonly k: string;
  o: Entry | null;
  n: Entry | null;
}

/** One key's sliding log: timestamps `t[h..]`, oldest first, and when the key expires. */
interface LogEntry extends Links {
  t: number[];
  h: number;
  /** Expiry in the throttle clock's seconds. */
  exp: number;
}

/** A plain cached value, for the cache-manager `Store` side of this class. */
interface ValueEntry extends Links {
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
 * Recency is a doubly linked list through the entries, not the Map's
 * insertion order: re-inserting a key on every hit leaves a deleted slot
 * behind, and V8 walks over those slots from the front whenever the cold end
 * is looked at, so clients that come back in turn (pollers, 10 000 clients
 * round-robin) made every hit O(keys). A touch now moves two pointers and
 * the Map changes only when a key comes or goes.
 *
 * It is also a cache-manager `Store`, so the module's default cache is a
 * regular cache-manager cache (`createCache(new MemoryThrottleStore())`).
 */
export class MemoryThrottleStore implements ThrottleStore, Store {
  readonly ownClock = false;
  private readonly entries = new Map<string, Entry>();
  /** Least and most recently used entries: the ends of the recency list. */
  private cold: Entry | null = null;
  private hot: Entry | null = null;

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
    this.sweep(now);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.t === null || entry.exp <= now) {
      if (entry !== undefined) this.remove(entry);
      return this.first(key, limit, durationSec, now);
    }
    const log = entry;
    const cutoff = now - durationSec;
    const t = log.t;
    let h = log.h;
    while (h < t.length && t[h] <= cutoff) h++;
    log.h = h;
    this.touch(log);

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

  /**
   * A key's first request (or first since its log expired). The log is
   * created holding its timestamp, `[now]`: an empty array grown by `push`
   * would reserve 17 slots, and most keys (one visit per client) never use
   * more than one, which is most of the memory a million clients take.
   */
  private first(key: string, limit: number, durationSec: number, now: number): HitResult {
    if (0 >= limit) {
      this.insert({ k: key, o: null, n: null, t: [], h: 0, exp: 0 });
      return { allowed: false, now, count: 0, oldest: null };
    }
    this.insert({ k: key, o: null, n: null, t: [now], h: 0, exp: now + durationSec });
    return { allowed: true, now, count: 1, oldest: now };
  }

  /** Drops expired keys from the cold end, a few per call. */
  private sweep(now: number): void {
    for (let looked = 0; looked < SWEEP_PER_HIT; looked++) {
      const entry = this.cold;
      if (entry === null) return;
      const expired = entry.t === null ? entry.exp <= Date.now() : entry.exp <= now;
      if (!expired) return;
      this.remove(entry);
    }
  }

  /** A new entry, most recently used; then least recently used out until the bound holds. */
  private insert(entry: Entry): void {
    this.entries.set(entry.k, entry);
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
    this.entries.delete(entry.k);
    this.unlink(entry);
  }

  private append(entry: Entry): void {
    entry.o = this.hot;
    entry.n = null;
    if (this.hot === null) this.cold = entry;
    else this.hot.n = entry;
    this.hot = entry;
  }

  private unlink(entry: Entry): void {
    const { o, n } = entry;
    if (o === null) this.cold = n;
    else o.n = n;
    if (n === null) this.hot = o;
    else n.o = o;
    entry.o = null;
    entry.n = null;
  }

  // --- cache-manager Store -------------------------------------------------

  async get<T>(key: string): Promise<T | undefined> {
    return this.read(key) as T | undefined;
  }

  async set<T>(key: string, data: T, ttl?: number): Promise<void> {
    this.write(key, data, ttl);
  }

  async del(key: string): Promise<void> {
    this.delete(key);
  }

  async reset(): Promise<void> {
    this.entries.clear();
    this.cold = null;
    this.hot = null;
  }

  async mset(pairs: Array<[string, unknown]>, ttl?: number): Promise<void> {
    for (const [key, value] of pairs) this.write(key, value, ttl);
  }

  async mget(...keys: string[]): Promise<unknown[]> {
    return keys.map((key) => this.read(key));
  }

  async mdel(...keys: string[]): Promise<void> {
    for (const key of keys) this.delete(key);
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
      this.remove(entry);
      return undefined;
    }
    return entry.v;
  }

  private write(key: string, value: unknown, ttl?: number): void {
    if (value === undefined) throw new TypeError(`no cacheable value for key '${key}'`);
    const exp = ttl === undefined || ttl <= 0 ? Infinity : Date.now() + ttl;
    this.delete(key);
    this.sweep(this.clock());
    this.insert({ k: key, o: null, n: null, t: null, v: value, exp });
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
