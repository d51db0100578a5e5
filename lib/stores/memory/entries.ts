/**
 * What the memory store holds per key, and the order its keys are evicted in: entries linked in recency rings,
 * two per scope (a partition), so that eviction looks at the least recently used key in O(1).
 */
import {
  gcraHasRoom,
  gcraStandingOf,
  slidingLogHasRoom,
  slidingLogStanding,
  type GcraState,
  type SlidingLog,
} from '../algorithms';
import type { HitResult, StoreHit } from '../throttle-store';

/** A place in a recency ring: an entry, or the ring's own node (its `Recency`), which closes the ring. */
export interface RingNode {
  /** Towards the most recently used end; from the ring's node, its least recently used entry. */
  newer: RingNode;
  /** Towards the least recently used end; from the ring's node, its most recently used entry. */
  older: RingNode;
}

/** A key's place in its ring, and what eviction needs to know. Object literals: classes measured slower. */
export interface Links extends RingNode {
  readonly key: string;
  /** The ring the entry is in: its partition's `open` one, or its `full` one. */
  ring: Recency;
  /** In the store's clock: from then on the entry means nothing (no stamp, no block) and may be swept. */
  expiresAt: number;
  /** The rate of its last admitted hit: whether a hit now would be refused is asked only before an eviction. */
  limit: number;
  duration: number;
}

export interface LogEntry extends Links, SlidingLog {
  readonly algorithm: 'sliding-log';
}

/**
 * GCRA: one number, the theoretical arrival time. Kept as long as a log would be (`duration` after its last
 * admission), not dropped at `tat`: that made a client who comes back every few seconds a map delete and insert
 * per hit.
 */
export interface GcraEntry extends Links, GcraState {
  readonly algorithm: 'gcra';
}

export type Entry = LogEntry | GcraEntry;

/**
 * Entries from least to most recently used, in a ring closed by this node: no end is ever null, so moving
 * an entry tests nothing, and an entry is its ring's most recent when its `newer` is the ring.
 */
export class Recency implements RingNode {
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
 * eviction finds it at its limit or blocked (forgetting it would let a refused client in again). A flood in
 * one scope fills only its own partition.
 */
export class Partition {
  size = 0;
  readonly open = new Recency(this);
  readonly full = new Recency(this);
}

/**
 * A new, empty entry at the hot end of nowhere (the caller appends it). Written out, no spread: every entry of
 * an algorithm gets one shape. A log is born an empty ring of one, as most keys (one visit per client) never
 * need more.
 */
export function newEntry(
  key: string,
  ring: Recency,
  expiresAt: number,
  limit: number,
  duration: number,
  algorithm: 'sliding-log' | 'gcra',
): Entry {
  const newer: RingNode = ring;
  const older: RingNode = ring;
  const blockedUntil = -Infinity;
  return algorithm === 'gcra'
    ? { key, newer, older, ring, expiresAt, limit, duration, algorithm, tat: -Infinity, blockedUntil }
    : { key, newer, older, ring, expiresAt, limit, duration, algorithm, stamps: [0], head: 0, count: 0, blockedUntil };
}

/** Makes an entry the most recently used of `ring` (its `ring` is set by the caller). */
export function append(ring: Recency, entry: Entry): void {
  const hot = ring.older;
  entry.older = hot;
  entry.newer = ring;
  hot.newer = entry;
  ring.older = entry;
}

/** Makes an entry the least recently used of `ring` (its `ring` is set by the caller). */
export function prepend(ring: Recency, entry: Entry): void {
  const cold = ring.newer;
  entry.newer = cold;
  entry.older = ring;
  cold.older = entry;
  ring.newer = entry;
}

/** Takes an entry out of its ring. */
export function unlink(entry: Entry): void {
  const { older, newer } = entry;
  older.newer = newer;
  newer.older = older;
}

/**
 * A key blocked past its expiry: kept until the block ends, in its scope's `full` ring, where a key that must
 * not be evicted goes. Not left in the `open` ring, whose cold end would then expire after the keys behind it
 * and stall the sweep. The caller moves it to its new ring.
 */
export function setAside(entry: Entry): void {
  entry.expiresAt = entry.blockedUntil;
  entry.ring = entry.ring.partition.full;
}

/** Whether forgetting the entry now lets no refused client in: expired, or a hit now would be admitted. */
export function hasRoom(entry: Entry, now: number): boolean {
  if (entry.expiresAt <= now) return true;
  if (entry.algorithm === 'gcra') return gcraHasRoom(entry, entry.limit, entry.duration, now);
  return slidingLogHasRoom(entry, entry.limit, entry.duration, now);
}

/** What a hit decided but not recorded reports: the key's standing now (an empty key's, if it holds none). */
export function standingOf(entry: Entry | undefined, hit: StoreHit, now: number): HitResult {
  if (entry === undefined || entry.algorithm !== hit.algorithm) return { allowed: true, now, count: 0, oldest: null };
  if (entry.algorithm === 'gcra') return gcraStandingOf(entry, hit.limit, hit.durationSec, now);
  return slidingLogStanding(entry, hit.durationSec, now);
}
