/**
 * The default store: counts in this process's memory, synchronously (so atomically), bounded in keys per
 * scope so that a flood of new keys in one scope can reset no one else.
 */
import { blockedResult, gcraHit, gcraRefund, slidingLogHit, slidingLogRefund, startBlock } from '../algorithms';
import {
  monotonicSeconds,
  type HitResult,
  type KeySpec,
  type StoreHit,
  type ThrottleAlgorithm,
  type ThrottleStore,
} from '../throttle-store';
import { append, hasRoom, newEntry, Partition, standingOf, unlink, type Entry, type Recency } from './entries';

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
    cost = 1,
    blockSec = 0,
  ): HitResult {
    if (--this.hitsToSweep === 0) {
      this.hitsToSweep = SWEEP_EVERY;
      this.sweepInTurn(now);
    }
    const entry = this.entries.get(key);
    // A key switching algorithms starts afresh (in `add`) rather than misreading the other state.
    if (entry === undefined || entry.algorithm !== algorithm) {
      return this.add(entry, key, limit, durationSec, now, algorithm, scope ?? '', cost, blockSec);
    }
    // An expired entry needs no special case: an expired log's stamps are all dropped, and `max(tat, now)` is `now`.
    // Written out here, not in a helper shared with add(): such a helper was optimised on its own and then
    // no longer inlined into this, the hot path.
    const result =
      entry.algorithm === 'gcra'
        ? gcraHit(entry, limit, durationSec, now, cost, blockSec)
        : slidingLogHit(entry, limit, durationSec, now, cost, blockSec);
    if (result.allowed) {
      // A look (cost 0) records nothing, so it keeps the entry no longer.
      if (cost !== 0) {
        entry.expiresAt = now + durationSec;
        entry.limit = limit;
        entry.duration = durationSec;
      }
    } else if (entry.blockedUntil > entry.expiresAt) {
      this.setAside(entry);
    }
    const ring = entry.ring;
    if (entry.newer !== ring) {
      unlink(entry);
      append(ring, entry);
    }
    return result;
  }

  /**
   * All or none: every hit decided in order (a key hit twice sees its first record), then, if one was refused,
   * the records taken back, newest first; blocks started stay. A hit admitted but not recorded reports the
   * key's standing, as a look would.
   */
  hitAll(hits: readonly StoreHit[], now: number = this.clock()): HitResult[] {
    const results = new Array<HitResult>(hits.length);
    /** GCRA's `tat` before each hit: a record taken back restores it exactly. */
    const tats = new Array<number>(hits.length);
    let refused = false;
    for (let i = 0; i < hits.length; i++) {
      const { key, limit, durationSec, algorithm, scope, cost, blockSec } = hits[i];
      const before = this.entries.get(key);
      tats[i] = before?.algorithm === 'gcra' ? before.tat : -Infinity;
      results[i] = this.hit(key, limit, durationSec, now, algorithm, scope, cost, blockSec);
      if (!results[i].allowed) refused = true;
    }
    if (!refused) return results;
    for (let i = hits.length - 1; i >= 0; i--) {
      const entry = this.entries.get(hits[i].key);
      const cost = hits[i].cost ?? 1;
      if (!results[i].allowed || cost === 0 || entry === undefined) continue;
      if (entry.algorithm === 'gcra') entry.tat = tats[i];
      else entry.count = Math.max(0, entry.count - cost);
    }
    for (let i = 0; i < hits.length; i++) {
      if (results[i].allowed) results[i] = standingOf(this.entries.get(hits[i].key), hits[i], now);
    }
    return results;
  }

  /** Gives back `cost` of the key's newest records (none if the key is counted by another algorithm). */
  refund(key: string, cost: number, spec: KeySpec, now: number = this.clock()): void {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.algorithm !== spec.algorithm) return;
    if (entry.algorithm === 'gcra') gcraRefund(entry, spec.limit, spec.durationSec, now, cost);
    else slidingLogRefund(entry, spec.durationSec, now, cost);
  }

  /**
   * Blocks the key for `seconds` from `now` (a longer block is kept). A key not held yet is stored even in a
   * full scope, after an eviction if one may go: an admin's block is never dropped.
   */
  block(key: string, seconds: number, spec: KeySpec, now: number = this.clock()): void {
    let entry = this.entries.get(key);
    if (entry === undefined || entry.algorithm !== spec.algorithm) {
      const blockedUntil = entry?.blockedUntil ?? -Infinity;
      if (entry !== undefined) this.remove(entry);
      const partition = this.partitions.get(spec.scope ?? '') ?? this.partition(spec.scope ?? '');
      if (partition.size >= this.maxKeys) this.makeRoom(partition, now);
      entry = newEntry(key, partition.open, now, spec.limit, spec.durationSec, spec.algorithm);
      entry.blockedUntil = blockedUntil;
      this.insert(partition, entry);
    }
    startBlock(entry, now + seconds, -Infinity, spec.limit, spec.durationSec, now);
    if (entry.blockedUntil > entry.expiresAt) this.setAside(entry);
    unlink(entry);
    append(entry.ring, entry);
  }

  /** Forgets one key: its count and its block. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(entry);
  }

  /** Forgets every count. */
  reset(): void {
    this.entries.clear();
    this.partitions.clear();
    this.sweepOrder = [];
    this.sweepNext = 0;
  }

  /** A key's first hit: decided on an empty state, stored only if it records and the scope has room for it. */
  private add(
    old: Entry | undefined,
    key: string,
    limit: number,
    duration: number,
    now: number,
    algorithm: ThrottleAlgorithm,
    scope: string,
    cost: number,
    blockSec: number,
  ): HitResult {
    if (old !== undefined) {
      // The other algorithm's count is forgotten, not its block.
      if (old.blockedUntil > now) return blockedResult(old.blockedUntil, limit, duration, now);
      this.remove(old);
    }
    const partition = this.partitions.get(scope) ?? this.partition(scope);
    const entry = newEntry(key, partition.open, now + duration, limit, duration, algorithm);
    const result =
      entry.algorithm === 'gcra'
        ? gcraHit(entry, limit, duration, now, cost, blockSec)
        : slidingLogHit(entry, limit, duration, now, cost, blockSec);
    // A refused first hit cannot have started a block (an empty key is refused only by a cost that never fits).
    if (!result.allowed || cost === 0) return result;
    if (partition.size >= this.maxKeys && !this.makeRoom(partition, now)) {
      return { allowed: false, now, count: limit, oldest: null };
    }
    this.insert(partition, entry);
    return result;
  }

  /**
   * A key blocked past its expiry: kept until the block ends, in its scope's `full` ring, where a key that must
   * not be evicted goes. Not left in the `open` ring, whose cold end would then expire after the keys behind it
   * and stall the sweep.
   */
  private setAside(entry: Entry): void {
    entry.expiresAt = entry.blockedUntil;
    entry.ring = entry.ring.partition.full;
  }

  private insert(partition: Partition, entry: Entry): void {
    this.entries.set(entry.key, entry);
    partition.size++;
    append(entry.ring, entry);
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
