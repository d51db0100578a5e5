/**
 * The Redis store's queue of hits waiting for the next batch, bounded so
 * that no request and no client can make a batch (and so its round trip)
 * as long as it likes: a batch is at most {@link MAX_BATCH_HITS} hits, and
 * one key has at most {@link MAX_WAITING_PER_KEY} of them. A client's hits on
 * one throttle share a key, so the per-key bound is that client's share: the
 * GraphQL alias attack (one address, tens of thousands of hits in one tick)
 * queues its share and no more, whatever the number of aliases.
 *
 * A hit refused here is answered as an overload of its key (a 429 for that
 * key, see {@link overloaded}), not as a cache fault: the policy of
 * `onCacheError` is for a failing cache, and admitting it under `'allow'`
 * would let the flooding client past its limit.
 */
import { loopIdleMs } from '../deadline';
import { monotonicSeconds, type HitResult } from '../throttle-store';

/** Hits in one batch, which is the whole queue: sixteen scripts of 256, a few ms of Redis. */
export const MAX_BATCH_HITS = 4096;
/** Hits of one key waiting for the next batch: an eighth of a batch. */
export const MAX_WAITING_PER_KEY = 512;
/** The wait an overload refusal suggests, in seconds: by then the key's queued hits are decided. */
const OVERLOAD_RETRY_SECONDS = 1;

/** A queued hit's key; the rest of it is the store's business. */
interface Keyed {
  readonly key: string;
}

/** What {@link HitQueue.take} hands the store: the batch, and how long its oldest hit may have waited on Redis. */
export interface TakenBatch<T> {
  readonly hits: T[];
  /**
   * Milliseconds the event loop was idle since the oldest of `hits` was
   * queued: a lower bound of the time it waited for Redis (see
   * {@link loopIdleMs}), never the time this process was busy.
   */
  readonly waitedMs: number;
}

export class HitQueue<T extends Keyed> {
  private hits: T[] = [];
  /**
   * Hits waiting per key, counted only from when the queue holds {@link MAX_WAITING_PER_KEY} hits: below
   * that no key can have reached its share, so the usual batch (tens of hits) costs no map write per hit.
   */
  private perKey: Map<string, number> | undefined;
  /** {@link loopIdleMs} when the oldest queued hit arrived. */
  private idleAtFirst = 0;

  constructor(private readonly idleMs: () => number = loopIdleMs) {}

  get length(): number {
    return this.hits.length;
  }

  /** Whether a hit on `key` may queue now: the batch has room, and so has the key's share of it. */
  admits(key: string): boolean {
    const queued = this.hits.length;
    if (queued < MAX_WAITING_PER_KEY) return true;
    return queued < MAX_BATCH_HITS && (this.counted().get(key) ?? 0) < MAX_WAITING_PER_KEY;
  }

  /** Queues `hit`; the caller asked {@link admits} first. */
  push(hit: T): void {
    if (this.hits.length === 0) this.idleAtFirst = this.idleMs();
    this.hits.push(hit);
    const perKey = this.perKey;
    if (perKey !== undefined) perKey.set(hit.key, (perKey.get(hit.key) ?? 0) + 1);
  }

  /** Every queued hit, oldest first, and the queue empty again. */
  take(): TakenBatch<T> {
    const hits = this.hits;
    if (hits.length === 0) return { hits, waitedMs: 0 };
    this.hits = [];
    this.perKey = undefined;
    return { hits, waitedMs: this.idleMs() - this.idleAtFirst };
  }

  /** The hits waiting per key, counted once the queue is long enough to need it, then kept by {@link push}. */
  private counted(): Map<string, number> {
    if (this.perKey !== undefined) return this.perKey;
    const perKey = new Map<string, number>();
    for (const { key } of this.hits) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    this.perKey = perKey;
    return perKey;
  }
}

/**
 * The answer to a hit refused as an overload: denied, the key shown at its
 * limit, with a wait of one second (the key's queued hits are decided by
 * then). Not recorded anywhere: it is not a decision of the cache.
 */
export function overloaded(limit: number, duration: number, now: number | undefined): HitResult {
  const at = now ?? monotonicSeconds();
  return { allowed: false, now: at, count: limit, oldest: at - duration + OVERLOAD_RETRY_SECONDS, provisional: true };
}
