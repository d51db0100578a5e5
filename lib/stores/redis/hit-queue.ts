/**
 * The Redis store's hits ({@link QueuedHit}, one object each from arrival
 * to answer) and its queue of those waiting for the next batch, bounded so
 * that no request and no client can make a batch (and so its round trip)
 * as long as it likes, nor keep other clients out of the queue:
 *
 * - a batch is at most {@link MAX_BATCH_HITS} hits, the oldest queued;
 * - one key has at most {@link MAX_WAITING_PER_KEY} hits waiting. A client's
 *   hits on one throttle share a key, so this is that client's share: the
 *   GraphQL alias attack (one address, tens of thousands of hits in one
 *   tick) queues its share and no more, whatever the number of aliases;
 * - once a whole batch is queued, a hit is queued only if its scope (a
 *   throttle's; scopeless throttles share one) holds fewer than
 *   {@link MAX_WAITING_PER_SCOPE} of the queued hits.
 *   A client that makes a new key per request (a throttle keyed on an
 *   e-mail from the body) can fill a batch, but not the room beyond it,
 *   which is kept for the other scopes: their clients are still queued,
 *   for the next batch, up to {@link MAX_QUEUED_HITS} in all.
 *
 * A hit refused here is answered as an overload of its key (a 429 for that
 * key, see {@link overloaded}), not as a cache fault: the policy of
 * `onCacheError` is for a failing cache, and admitting it under `'allow'`
 * would let the flooding client past its limit.
 */
import type { HitCallbacks } from '../cache-faults';
import { loopIdleMs } from '../deadline';
import { monotonicSeconds, type HitResult } from '../throttle-store';
import type { HitExtra, ScriptHit } from './script-protocol';

/** Hits in one batch: sixteen scripts of 256, a few ms of Redis. */
export const MAX_BATCH_HITS = 4096;
/** Hits queued at most: two batches, the second only for scopes below their share. */
export const MAX_QUEUED_HITS = 2 * MAX_BATCH_HITS;
/** Hits of one key waiting: an eighth of a batch. */
export const MAX_WAITING_PER_KEY = 512;
/** Past a whole batch queued, the queued hits a scope may hold and still queue more: half a batch. */
export const MAX_WAITING_PER_SCOPE = MAX_BATCH_HITS / 2;
/** The wait an overload refusal suggests, in seconds: by then the key's queued hits are decided. */
const OVERLOAD_RETRY_SECONDS = 1;

/**
 * One hit of the Redis store, from its arrival to its answer: what the script takes, where it goes, and (once
 * its lane queues it) its caller. One object per hit, made by {@link queuedHit} and queued as it is.
 */
export interface QueuedHit extends ScriptHit, HitCallbacks {
  /** Its key's Cluster slot (hits of one slot go in one script); `0` for a single server. */
  readonly slot: number;
  /** Its throttle's scope: the queue's share of one scope. */
  readonly scope: string | undefined;
  /** A plain hit (cost 1, no block, decided alone) has none: one field, so hits keep one shape. */
  readonly extra: HitExtra | undefined;
  /** Answered (by Redis or by the policy): nothing may answer it again. */
  done: boolean;
}

/**
 * A new hit, its callbacks set when its lane queues it. An object literal naming every field, not a class: V8
 * runs a class's field initializers as a call of their own, which cost a hit about 150 instructions (callgrind).
 */
export function queuedHit(
  key: string,
  slot: number,
  scope: string | undefined,
  limit: number,
  duration: number,
  now: number | undefined,
  algorithm: 's' | 'g',
  extra: HitExtra | undefined,
): QueuedHit {
  return {
    key,
    slot,
    scope,
    limit,
    duration,
    now,
    algorithm,
    extra,
    resolve: notQueued,
    reject: notQueued,
    done: false,
  };
}

/** A hit's callbacks before its lane queued it: nothing can answer it yet. */
function notQueued(): void {
  throw new Error('a Redis hit was answered before it was queued');
}

/** A queued hit's key and scope; the rest of it is the store's business. */
interface Keyed {
  readonly key: string;
  /** The throttle's scope; `undefined` for throttles without one (they share a share). */
  readonly scope: string | undefined;
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
  /** Hits waiting per scope, counted likewise only once a whole batch is queued. */
  private perScope: Map<string | undefined, number> | undefined;
  /** {@link loopIdleMs} when the oldest queued hit arrived. */
  private idleAtFirst = 0;
  /** {@link loopIdleMs} when the first hit past a whole batch arrived: the oldest of those {@link take} leaves. */
  private idleAtSecond = 0;

  constructor(private readonly idleMs: () => number = loopIdleMs) {}

  get length(): number {
    return this.hits.length;
  }

  /** Whether a hit on `key` of `scope` may queue now: the queue has room, and so have the key's and scope's shares. */
  admits(key: string, scope: string | undefined): boolean {
    const queued = this.hits.length;
    if (queued < MAX_WAITING_PER_KEY) return true;
    if ((this.keyCounts().get(key) ?? 0) >= MAX_WAITING_PER_KEY) return false;
    if (queued < MAX_BATCH_HITS) return true;
    return queued < MAX_QUEUED_HITS && (this.scopeCounts().get(scope) ?? 0) < MAX_WAITING_PER_SCOPE;
  }

  /** Queues `hit`; the caller asked {@link admits} first. */
  push(hit: T): void {
    if (this.hits.length === 0) this.idleAtFirst = this.idleMs();
    else if (this.hits.length === MAX_BATCH_HITS) this.idleAtSecond = this.idleMs();
    this.hits.push(hit);
    const { perKey, perScope } = this;
    if (perKey !== undefined) perKey.set(hit.key, (perKey.get(hit.key) ?? 0) + 1);
    if (perScope !== undefined) perScope.set(hit.scope, (perScope.get(hit.scope) ?? 0) + 1);
  }

  /** The oldest queued hits, a batch at most; the rest wait for the next. */
  take(): TakenBatch<T> {
    const hits = this.hits;
    if (hits.length === 0) return { hits, waitedMs: 0 };
    const waitedMs = this.idleMs() - this.idleAtFirst;
    this.perKey = undefined;
    this.perScope = undefined;
    if (hits.length <= MAX_BATCH_HITS) {
      this.hits = [];
      return { hits, waitedMs };
    }
    // Those left count their wait from the oldest of them: no fresh deadline for having waited a batch.
    this.hits = hits.slice(MAX_BATCH_HITS);
    this.idleAtFirst = this.idleAtSecond;
    return { hits: hits.slice(0, MAX_BATCH_HITS), waitedMs };
  }

  /** The hits waiting per key, counted once the queue is long enough to need it, then kept by {@link push}. */
  private keyCounts(): Map<string, number> {
    if (this.perKey !== undefined) return this.perKey;
    const perKey = new Map<string, number>();
    for (const { key } of this.hits) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    this.perKey = perKey;
    return perKey;
  }

  /** The hits waiting per scope, counted once a whole batch is queued, then kept by {@link push}. */
  private scopeCounts(): Map<string | undefined, number> {
    if (this.perScope !== undefined) return this.perScope;
    const perScope = new Map<string | undefined, number>();
    for (const { scope } of this.hits) perScope.set(scope, (perScope.get(scope) ?? 0) + 1);
    this.perScope = perScope;
    return perScope;
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
