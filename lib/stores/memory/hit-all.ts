/**
 * The memory store's all-or-none decision (`countRefused: false`): a refused request records nothing, stores no
 * new key, evicts none and leaves the keys it touched as they were, but for a block a refusal started.
 */
import { blockedResult, gcraHit, slidingLogHit } from '../algorithms';
import type { HitResult, StoreHit } from '../throttle-store';
import { append, newEntry, setAside, standingOf, unlink, type Entry } from './entries';
import type { KeySpace } from './key-space';

/** Per hit, what its entry was before it: a refused request puts it back. */
interface Before {
  /** The entry decided on; `undefined` for a key of the other algorithm that is blocked (nothing decided). */
  readonly entries: (Entry | undefined)[];
  /** GCRA's `tat` (a log's records are taken back by their cost), the expiry and the rate. */
  readonly tats: number[];
  readonly expiries: number[];
  readonly limits: number[];
  readonly durations: number[];
}

/**
 * Every hit decided in order (a key hit twice sees its first record). A key the store holds is decided on its
 * entry, left in its place in its ring, each change noted; a new key (or one held by the other algorithm) on an
 * entry of its own, outside the store. If every hit is admitted, the new entries that record are stored, all or
 * none (a full scope with no key that may go, the request's own keys aside, refuses its new key, as a lone hit's
 * would be), and then the keys held move to the recent end of their rings. Otherwise the records are taken
 * back, newest first, the new entries dropped (one a refusal blocked is kept, as a block always is), and each
 * admitted hit reports its key's standing, as a look would.
 */
export function hitAll(space: KeySpace, hits: readonly StoreHit[], now: number): HitResult[] {
  const n = hits.length;
  const results = new Array<HitResult>(n);
  const before: Before = {
    entries: new Array(n),
    tats: new Array(n),
    expiries: new Array(n),
    limits: new Array(n),
    durations: new Array(n),
  };
  /** The keys the request would add, by key: their entries, held outside the store until every hit is admitted. */
  const fresh = new Map<string, Entry>();
  let refused = false;
  for (let i = 0; i < n; i++) {
    const { key, limit, durationSec, algorithm, scope, cost = 1, blockSec = 0 } = hits[i];
    let entry = fresh.get(key) ?? space.entries.get(key);
    if (entry === undefined || entry.algorithm !== algorithm) {
      // As a lone hit: the other algorithm's count is forgotten (if the request goes through), not its block.
      if (entry !== undefined && entry.blockedUntil > now) {
        results[i] = blockedResult(entry.blockedUntil, limit, durationSec, now);
        refused = true;
        continue;
      }
      entry = newEntry(key, space.partition(scope ?? '').open, now + durationSec, limit, durationSec, algorithm);
      fresh.set(key, entry);
    }
    before.entries[i] = entry;
    before.tats[i] = entry.algorithm === 'gcra' ? entry.tat : 0;
    before.expiries[i] = entry.expiresAt;
    before.limits[i] = entry.limit;
    before.durations[i] = entry.duration;
    const result =
      entry.algorithm === 'gcra'
        ? gcraHit(entry, limit, durationSec, now, cost, blockSec)
        : slidingLogHit(entry, limit, durationSec, now, cost, blockSec);
    // A refusal's block past the key's expiry sets the key aside once the request is decided (undo()).
    if (!result.allowed) {
      refused = true;
    } else if (cost !== 0) {
      entry.expiresAt = now + durationSec;
      entry.limit = limit;
      entry.duration = durationSec;
    }
    results[i] = result;
  }
  if (refused) return undo(space, hits, results, before, now);
  if (fresh.size !== 0) {
    // New keys are stored only if they record (a look stores none, as alone), each in place of the other
    // algorithm's entry of its key, which goes even for a look (as alone). The keys held that the request
    // decided on are never evicted for its new keys: the request refused instead keeps them as they were.
    const stored: Entry[] = [];
    const replacing: Entry[] = [];
    for (const entry of fresh.values()) {
      if (records(entry)) stored.push(entry);
      const old = space.entries.get(entry.key);
      if (old !== undefined) replacing.push(old);
    }
    const spared = new Set<Entry>(replacing);
    for (const entry of before.entries) if (space.entries.get(entry!.key) === entry) spared.add(entry!);
    const unplaced = space.insertAll(stored, replacing, spared, now);
    if (unplaced !== undefined) {
      const at = before.entries.indexOf(unplaced);
      undo(space, hits, results, before, now);
      results[at] = { allowed: false, now, count: hits[at].limit, oldest: null };
      return results;
    }
  }
  // Touched, as by lone hits, once the request is admitted.
  for (let i = 0; i < n; i++) {
    const entry = before.entries[i]!;
    if (space.entries.get(entry.key) === entry && entry.newer !== entry.ring) {
      unlink(entry);
      append(entry.ring, entry);
    }
  }
  return results;
}

/** Whether a new entry holds a record: admitted hits with a cost made it so; looks leave it as born. */
function records(entry: Entry): boolean {
  return entry.algorithm === 'gcra' ? entry.tat !== -Infinity : entry.count !== 0;
}

/**
 * Takes a refused request's records back, newest first, and puts each held entry's expiry and rate back; a key
 * blocked past its expiry is set aside (kept until the block ends). Then each admitted hit reports its key's
 * standing.
 */
function undo(
  space: KeySpace,
  hits: readonly StoreHit[],
  results: HitResult[],
  before: Before,
  now: number,
): HitResult[] {
  for (let i = hits.length - 1; i >= 0; i--) {
    const entry = before.entries[i];
    if (entry === undefined) continue;
    const cost = hits[i].cost ?? 1;
    if (results[i].allowed && cost !== 0) {
      if (entry.algorithm === 'gcra') entry.tat = before.tats[i];
      else entry.count = Math.max(0, entry.count - cost);
    }
    entry.expiresAt = before.expiries[i];
    entry.limit = before.limits[i];
    entry.duration = before.durations[i];
  }
  const blocked: Entry[] = [];
  for (const entry of before.entries) {
    if (entry === undefined) continue;
    const ring = entry.ring;
    if (entry.blockedUntil > entry.expiresAt) setAside(entry);
    if (space.entries.get(entry.key) !== entry) {
      if (entry.blockedUntil > now && !blocked.includes(entry)) blocked.push(entry);
    } else if (entry.ring !== ring) {
      unlink(entry);
      append(entry.ring, entry);
    }
  }
  // A new key blocked by a later hit of the request: the block is stored, as an admin's is, even in a full scope.
  for (const entry of blocked) {
    const old = space.entries.get(entry.key);
    if (old !== undefined) space.remove(old);
    space.makeRoom(entry.ring.partition, now);
    space.insert(entry);
  }
  for (let i = 0; i < hits.length; i++) {
    if (results[i].allowed) results[i] = standingOf(space.entries.get(hits[i].key), hits[i], now);
  }
  return results;
}
