/**
 * The default store: counts in this process's memory, synchronously (so atomically), bounded in keys per
 * scope so that a flood of new keys in one scope can reset no one else.
 */
import { gcraHasRoom, gcraHit, slidingLogHasRoom, slidingLogHit, type SlidingLog } from '../algorithms';
import { monotonicSeconds, type HitResult, type ThrottleAlgorithm, type ThrottleStore } from '../throttle-store';

/** A place in a recency ring: an entry, or the ring's own node (its `Recency`), which closes the ring. */
interface RingNode {
  /** Towards the most recently used end; from the ring's node, its least recently used entry. */
  newer: RingNode;
  /** Towards the least recently used end; from the ring's node, its most recently used entry. */
  older: RingNode;
}

/** A key's place in its ring, and what eviction needs to know. Object literals: classes measured slower. */
interface Links extends RingNode {
  readonly key: string;
  /** The ring the entry is in: its partition's `open` one, or its `full` one. */
  ring: Recency;
  /** In the store's clock: from then on the entry means nothing and may be swept. */
  expiresAt: number;
  /** The rate of its last admitted hit: whether a hit now would be refused is asked only before an eviction. */
  limit: number;
  duration: number;
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

/**
 * Entries from least to most recently used, in a ring closed by this node: no end is ever null, so moving
 * an entry tests nothing, and an entry is its ring's most recent when its `newer` is the ring.
 */
class Recency implements RingNode {
  newer: RingNode = this;
  older: RingNode = this;
  constructor(readonly partition: Partition) {}

  /** The least recently used entry, or `null` for an empty ring. */
  get cold(): Entry | null {
    return this.newer === this ? null : (this.newer as Entry);
  }
}

/**
 * One scope's keys, in two rings: `open`, where every key starts, and `full`, where a key goes when an
 * eviction finds it at its limit (forgetting it would let a refused client in again). A flood in one scope
 * fills only its own partition.
 */
class Partition {
  size = 0;
  readonly open = new Recency(this);
  readonly full = new Recency(this);
}

/** Expired entries dropped from the cold ends: up to 2 before a key is added to a full scope, 32 every 16th hit. */
const SWEEP_ON_INSERT = 2;
const SWEEP_EVERY = 16;
/** Keys set aside that an eviction looks at, when no other key is left, before the new key is refused. */
const LOOKS = 8;

/**
 * The default, in-process store. A decision is synchronous, so it is atomic without a lock, and costs O(1)
 * amortised whatever the limit (the steps of `algorithms.ts`: the log is a ring of timestamps, GCRA one
 * number). No timer, one clock.
 *
 * Keys are bounded per scope (`maxKeys` each), so a flood of new keys in one scope (distinct e-mails on a
 * password-reset route) evicts nothing of another. A new key in a full scope evicts an expired key, else
 * the least recently used key that a hit now would be admitted on (so that forgetting it costs its
 * client at most the hits it had counted, by the rate of its last admitted hit); never a key at its
 * limit, which is set aside in the `full` ring instead. If no key may go, the new key's hit is refused
 * and stores nothing: a flood fails closed for its own scope only, and cannot reset a refused client.
 * A refused first hit (a limit of 0, a full scope) stores nothing either.
 *
 * The hot path only moves a key to the recent end of its ring: whether a key is at its limit is asked
 * only when a full scope looks for a key to evict. Rings are linked through the entries, not kept in the
 * Map's insertion order: re-inserting a key on every hit leaves a deleted slot that V8 walks over whenever
 * the cold end is looked at, so clients that come back in turn (10 000 round-robin) made every hit
 * O(keys). The Map changes only when a key comes or goes.
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly entries = new Map<string, Entry>();
  private readonly partitions = new Map<string, Partition>();
  /** The partitions in order of creation, swept in turn. */
  private sweepOrder: Partition[] = [];
  private sweepNext = 0;
  private hitsToSweep = SWEEP_EVERY;

  /**
   * @param maxKeys most keys kept per scope (so at most `maxKeys` times the number of scopes in all).
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

  /** Keys held now, every scope together (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number = this.clock(),
    algorithm: ThrottleAlgorithm = 'sliding-log',
    scope?: string,
  ): HitResult {
    if (--this.hitsToSweep === 0) {
      this.hitsToSweep = SWEEP_EVERY;
      this.sweepInTurn(now);
    }
    const entry = this.entries.get(key);
    // A key switching algorithms starts afresh (in `add`) rather than misreading the other state.
    if (entry === undefined || entry.algorithm !== algorithm) {
      return this.add(entry, key, limit, durationSec, now, algorithm, scope ?? '');
    }
    // An expired entry needs no special case: an expired log's stamps are all dropped, and `max(tat, now)` is `now`.
    // Written out here, not in a helper shared with add(): such a helper was optimised on its own and then
    // no longer inlined into this, the hot path.
    const result =
      entry.algorithm === 'gcra'
        ? gcraHit(entry, limit, durationSec, now)
        : slidingLogHit(entry, limit, durationSec, now);
    if (result.allowed) {
      entry.expiresAt = now + durationSec;
      entry.limit = limit;
      entry.duration = durationSec;
    }
    const ring = entry.ring;
    if (entry.newer !== ring) {
      unlink(entry);
      append(ring, entry);
    }
    return result;
  }

  /** Forgets every count. */
  reset(): void {
    this.entries.clear();
    this.partitions.clear();
    this.sweepOrder = [];
    this.sweepNext = 0;
  }

  /** A key's first hit: decided on an empty state, stored only if admitted and the scope has room for it. */
  private add(
    old: Entry | undefined,
    key: string,
    limit: number,
    duration: number,
    now: number,
    algorithm: ThrottleAlgorithm,
    scope: string,
  ): HitResult {
    if (old !== undefined) this.remove(old);
    const partition = this.partitions.get(scope) ?? this.partition(scope);
    const ring = partition.open;
    const newer: RingNode = ring;
    const older: RingNode = ring;
    const expiresAt = now + duration;
    // Written out, no spread: every entry of an algorithm gets one shape. A log is born an empty ring of one
    // (emptyLog()), as most keys (one visit per client) never need more.
    const entry: Entry =
      algorithm === 'gcra'
        ? { key, newer, older, ring, expiresAt, limit, duration, algorithm, tat: -Infinity }
        : { key, newer, older, ring, expiresAt, limit, duration, algorithm, stamps: [0], head: 0, count: 0 };
    const result =
      entry.algorithm === 'gcra' ? gcraHit(entry, limit, duration, now) : slidingLogHit(entry, limit, duration, now);
    if (!result.allowed) return result;
    if (partition.size >= this.maxKeys && !this.makeRoom(partition, now)) {
      return { allowed: false, now, count: limit, oldest: null };
    }
    this.entries.set(key, entry);
    partition.size++;
    append(ring, entry);
    return result;
  }

  /**
   * Whether a new key fits in a full `partition` after evicting one: an expired key, else the least
   * recently used of the open ring that a hit now would be admitted on. Keys found at their limit on the
   * way are set aside in the full ring: each key is set aside once, so this scan costs O(1) amortised per
   * new key. When only keys set aside are left, the `LOOKS` set aside longest are looked at, and those
   * still at their limit sent to the back, so the next new key looks at others.
   */
  private makeRoom(partition: Partition, now: number): boolean {
    this.sweep(partition.full, now, this.sweep(partition.open, now, SWEEP_ON_INSERT));
    if (partition.size < this.maxKeys) return true;
    const { open, full } = partition;
    for (let entry = open.cold; entry !== null; entry = open.cold) {
      if (hasRoom(entry, now)) return this.evict(entry);
      unlink(entry);
      entry.ring = full;
      append(full, entry);
    }
    for (let looked = 0; looked < LOOKS; looked++) {
      const entry = full.cold;
      if (entry === null) break;
      if (hasRoom(entry, now)) return this.evict(entry);
      unlink(entry);
      append(full, entry);
    }
    return false;
  }

  private evict(entry: Entry): true {
    this.remove(entry);
    return true;
  }

  /** Every 16th hit: up to 32 expired keys of the next partition in turn, so idle scopes give their memory back too. */
  private sweepInTurn(now: number): void {
    const partitions = this.sweepOrder;
    if (partitions.length === 0) return;
    if (this.sweepNext >= partitions.length) this.sweepNext = 0;
    const partition = partitions[this.sweepNext++];
    this.sweep(partition.full, now, this.sweep(partition.open, now, 2 * SWEEP_EVERY));
  }

  /** Drops expired keys from the cold end of `ring`, up to `most`; returns how many more it could have dropped. */
  private sweep(ring: Recency, now: number, most: number): number {
    for (; most > 0; most--) {
      const entry = ring.cold;
      if (entry === null || entry.expiresAt > now) break;
      this.remove(entry);
    }
    return most;
  }

  private partition(scope: string): Partition {
    const partition = new Partition();
    this.partitions.set(scope, partition);
    this.sweepOrder.push(partition);
    return partition;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    entry.ring.partition.size--;
    unlink(entry);
  }
}

/** Whether forgetting the entry now lets no refused client in: expired, or a hit now would be admitted. */
function hasRoom(entry: Entry, now: number): boolean {
  if (entry.expiresAt <= now) return true;
  if (entry.algorithm === 'gcra') return gcraHasRoom(entry, entry.limit, entry.duration, now);
  return slidingLogHasRoom(entry, entry.limit, entry.duration, now);
}

/** Makes an entry the most recently used of `ring` (its `ring` is set by the caller). */
function append(ring: Recency, entry: Entry): void {
  const hot = ring.older;
  entry.older = hot;
  entry.newer = ring;
  hot.newer = entry;
  ring.older = entry;
}

/** Takes an entry out of its ring. */
function unlink(entry: Entry): void {
  const { older, newer } = entry;
  older.newer = newer;
  newer.older = older;
}
