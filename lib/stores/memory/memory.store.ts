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
import { append, newEntry, setAside, unlink, type Entry } from './entries';
import { hitAll } from './hit-all';
import { KeySpace } from './key-space';

/** A few expired keys of one scope in turn are swept every 16th hit. */
const SWEEP_EVERY = 16;

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
 * O(keys). The Map changes only when a key comes or goes. The keys and their eviction: key-space.ts; the
 * all-or-none decision of `countRefused: false`: hit-all.ts.
 */
export class MemoryThrottleStore implements ThrottleStore {
  readonly ownClock = false;
  private readonly space: KeySpace;
  /** The space's Map, read directly on the hot path. */
  private readonly entries: Map<string, Entry>;
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
    this.space = new KeySpace(maxKeys);
    this.entries = this.space.entries;
  }

  /** Keys held now, every scope together (expired ones not yet swept included). */
  get size(): number {
    return this.entries.size;
  }

  /** Whether the store holds `key` now (an expired key not swept yet included): for tests and diagnostics. */
  has(key: string): boolean {
    return this.entries.has(key);
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
      this.space.sweepInTurn(now);
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
      setAside(entry);
    }
    const ring = entry.ring;
    if (entry.newer !== ring) {
      unlink(entry);
      append(ring, entry);
    }
    return result;
  }

  /**
   * All or none: every hit decided in order (a key hit twice sees its first record), recorded only if all are
   * admitted. A refused request records nothing, stores no new key and evicts none; blocks it started stay. A
   * hit admitted but not recorded reports the key's standing, as a look would (hit-all.ts).
   */
  hitAll(hits: readonly StoreHit[], now: number = this.clock()): HitResult[] {
    return hitAll(this.space, hits, now);
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
      if (entry !== undefined) this.space.remove(entry);
      const partition = this.space.partition(spec.scope ?? '');
      this.space.makeRoom(partition, now);
      entry = newEntry(key, partition.open, now, spec.limit, spec.durationSec, spec.algorithm);
      entry.blockedUntil = blockedUntil;
      this.space.insert(entry);
    }
    startBlock(entry, now + seconds, -Infinity, spec.limit, spec.durationSec, now);
    if (entry.blockedUntil > entry.expiresAt) setAside(entry);
    unlink(entry);
    append(entry.ring, entry);
  }

  /** Forgets one key: its count and its block. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.space.remove(entry);
  }

  /** Forgets every count. */
  reset(): void {
    this.space.clear();
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
      this.space.remove(old);
    }
    const partition = this.space.partition(scope);
    const entry = newEntry(key, partition.open, now + duration, limit, duration, algorithm);
    const result =
      entry.algorithm === 'gcra'
        ? gcraHit(entry, limit, duration, now, cost, blockSec)
        : slidingLogHit(entry, limit, duration, now, cost, blockSec);
    // A refused first hit cannot have started a block (an empty key is refused only by a cost that never fits).
    if (!result.allowed || cost === 0) return result;
    if (!this.space.makeRoom(partition, now)) return { allowed: false, now, count: limit, oldest: null };
    this.space.insert(entry);
    return result;
  }
}
