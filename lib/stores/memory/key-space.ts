/**
 * The memory store's keys: one Map to find them, and per scope a partition bounded at `maxKeys`, whose keys are
 * swept a few at a time when expired and evicted, when a new key needs room, from the least recently used end.
 */
import { append, hasRoom, Partition, prepend, unlink, type Entry, type Recency } from './entries';

/** Expired entries dropped from the cold ends: up to 2 before a key is added to a full scope, 32 in turn. */
const SWEEP_ON_INSERT = 2;
const SWEEP_IN_TURN = 32;
/** Keys set aside that an eviction looks at, when no other key is left, before the new key is refused. */
const LOOKS = 8;

/**
 * Every key the store holds, by partition. A new key in a full partition evicts an expired key, else the least
 * recently used key that a hit now would be admitted on (see {@link KeySpace.victim}); never a key at its limit.
 */
export class KeySpace {
  readonly entries = new Map<string, Entry>();
  private readonly partitions = new Map<string, Partition>();
  /** The partitions in order of creation, swept in turn. */
  private sweepOrder: Partition[] = [];
  private sweepNext = 0;

  constructor(readonly maxKeys: number) {}

  /** The scope's partition, made on first use. */
  partition(scope: string): Partition {
    const found = this.partitions.get(scope);
    if (found !== undefined) return found;
    const partition = new Partition();
    this.partitions.set(scope, partition);
    this.sweepOrder.push(partition);
    return partition;
  }

  /** Stores a new entry at the recent end of its ring (`entry.ring`). */
  insert(entry: Entry): void {
    this.entries.set(entry.key, entry);
    entry.ring.partition.size++;
    append(entry.ring, entry);
  }

  remove(entry: Entry): void {
    unlink(entry);
    this.drop(entry);
  }

  /** Whether a new key fits in `partition` now, after evicting one key if it is full. */
  makeRoom(partition: Partition, now: number): boolean {
    if (this.free(partition, now) > 0) return true;
    const victim = this.victim(partition, now);
    if (victim === null) return false;
    this.remove(victim);
    return true;
  }

  /**
   * Stores new entries all or none, each in place of `replacing`'s entry of its key if the store holds one.
   * The keys they would evict are chosen first, never one of `spared`, and evicted only once every new key has
   * room; otherwise they are put back where they were, nothing is stored or dropped, and the first entry that
   * found no room is returned. A replaced entry's place counts as room, as a lone hit drops it before it asks.
   */
  insertAll(
    entries: readonly Entry[],
    replacing: readonly Entry[],
    spared: ReadonlySet<Entry>,
    now: number,
  ): Entry | undefined {
    const victims: Entry[] = [];
    const free = new Map<Partition, number>();
    for (const entry of entries) {
      const partition = entry.ring.partition;
      // After free() has swept: a replaced entry swept as expired has given its place back already.
      let room = free.get(partition) ?? this.free(partition, now) + this.heldIn(replacing, partition);
      if (room <= 0) {
        const victim = this.victim(partition, now, spared);
        if (victim === null) {
          // Each was its ring's least recently used when chosen: back to that end, the last chosen first.
          for (let i = victims.length - 1; i >= 0; i--) prepend(victims[i].ring, victims[i]);
          return entry;
        }
        // Out of its ring, so that the next new key of the partition chooses another.
        unlink(victim);
        victims.push(victim);
        room++;
      }
      free.set(partition, room - 1);
    }
    for (const old of replacing) if (this.entries.get(old.key) === old) this.remove(old);
    for (const victim of victims) this.drop(victim);
    for (const entry of entries) this.insert(entry);
    return undefined;
  }

  /** Every 16th hit: up to 32 expired keys of the next partition in turn, so idle scopes give memory back too. */
  sweepInTurn(now: number): void {
    const partitions = this.sweepOrder;
    if (partitions.length === 0) return;
    if (this.sweepNext >= partitions.length) this.sweepNext = 0;
    const partition = partitions[this.sweepNext++];
    this.sweep(partition.full, now, this.sweep(partition.open, now, SWEEP_IN_TURN));
  }

  /** Forgets every key. */
  clear(): void {
    this.entries.clear();
    this.partitions.clear();
    this.sweepOrder = [];
    this.sweepNext = 0;
  }

  /** Room left in `partition`, after dropping a few expired keys if it is full. */
  private free(partition: Partition, now: number): number {
    if (partition.size >= this.maxKeys) {
      this.sweep(partition.full, now, this.sweep(partition.open, now, SWEEP_ON_INSERT));
    }
    return this.maxKeys - partition.size;
  }

  /**
   * The key a new key may take the place of in a full partition: the least recently used of the open ring
   * that a hit now would be admitted on (an expired one has room). Keys found at their limit on the way are
   * set aside in the full ring: each key is set aside once, so this scan costs O(1) amortised per new key.
   * When only keys set aside are left, the `LOOKS` set aside longest are looked at, and those still at their
   * limit sent to the back, so the next new key looks at others. `spared` keys are passed over, left in place.
   * `null`: no key may go.
   */
  private victim(partition: Partition, now: number, spared?: ReadonlySet<Entry>): Entry | null {
    const { open, full } = partition;
    // Walked from the cold end: each entry looked at leaves it (set aside, or returned) but a spared one.
    for (let node = open.newer; node !== open; ) {
      const entry = node as Entry;
      node = entry.newer;
      if (spared?.has(entry)) continue;
      if (hasRoom(entry, now)) return entry;
      unlink(entry);
      entry.ring = full;
      append(full, entry);
    }
    let node = full.newer;
    for (let looked = 0; looked < LOOKS && node !== full; ) {
      const entry = node as Entry;
      node = entry.newer;
      if (spared?.has(entry)) continue;
      if (hasRoom(entry, now)) return entry;
      unlink(entry);
      append(full, entry);
      looked++;
    }
    return null;
  }

  /** How many of `entries` the store holds in `partition` now. */
  private heldIn(entries: readonly Entry[], partition: Partition): number {
    let held = 0;
    for (const entry of entries)
      if (entry.ring.partition === partition && this.entries.get(entry.key) === entry) held++;
    return held;
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

  /** Out of the Map and the count; its ring is the caller's business. */
  private drop(entry: Entry): void {
    this.entries.delete(entry.key);
    entry.ring.partition.size--;
  }
}
