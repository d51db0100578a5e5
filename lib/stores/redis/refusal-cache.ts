/**
 * The Redis store's refusals, remembered in this process: a key Redis
 * refused is answered here until its wait ends, with no round trip. Under
 * attack (one client far over its limit) refusals are nearly all a store
 * answers, and each would otherwise cost a Redis command.
 *
 * Safe because a refusal of either algorithm holds until its wait ends
 * whatever any process does meanwhile: hits only ever add (a sliding log
 * keeps every stamp of a full window until the oldest is `duration` old; a
 * GCRA key's theoretical arrival time never goes back), and a refused hit
 * records nothing. Only refusals are remembered, never admissions, so no
 * process admits more than the store would. What breaks it is a key changed
 * behind the store's back (deleted or evicted in Redis): this process then
 * refuses until the wait ends, as it was told (docs/caches.md). A get/set
 * cache has none: it is often emptied by hand (`cache.reset()` in tests),
 * which a refusal remembered here would outlive.
 *
 * Costs and blocks: a refusal of a hit of cost `c` holds for hits of cost
 * `c` or more (a look counts as 1), until the wait for `c`; one answered
 * for a hit with `blockSec` is a block (the store started one, or one held
 * already), which refuses every hit until it ends, so it is answered here
 * for any cost and any `blockSec`. A hit with `blockSec` is never answered
 * by a refusal learned without one: the store would start its block.
 * `hitAll()` is answered here only when every key of the request is known
 * refused (the store would refuse each and record none); otherwise it goes
 * to Redis, whose refusals are learned key by key.
 *
 * `refund()`, `block()` and `forget()` (counts going down, or an admin's
 * reset) drop this process's refusal of the key, so its next hit asks
 * Redis. Other processes are not told: each keeps answering its own
 * remembered refusal of that key until the wait it was given ends (at most
 * the block or window it saw), then asks the store again.
 */
import { gcraSlack } from '../algorithms';
import { type HitResult, monotonicSeconds } from '../throttle-store';
import type { ScriptHit } from './script-protocol';

/** Keys remembered at most: a refusal costs about 200 bytes, so a flood of distinct keys holds about 2 MB. */
export const REFUSAL_CACHE_MAX_KEYS = 10_000;

/** Seconds a local refusal ends before the store's would: floating-point rounding never keeps a client out. */
const MARGIN_SECONDS = 1e-6;

/** One remembered refusal of a key, for one rate. */
interface Refusal {
  readonly limit: number;
  readonly duration: number;
  readonly algorithm: ScriptHit['algorithm'];
  /**
   * `true` when the throttle gave `now` (the module's `clock`): the times below are on that clock. Else Redis
   * read its own (TIME) and they are this process's {@link monotonicSeconds}.
   */
  readonly given: boolean;
  /**
   * When the hit's batch was sent (on a given clock, the hit's own `now`): Redis decided no earlier, so the local
   * `now` never lags Redis'.
   */
  readonly origin: number;
  /** When the refusal ends on the same clock, a hair early. */
  readonly until: number;
  /** Redis' answer: `now` on the server's clock, and the window it saw. */
  readonly result: HitResult;
  /** The least `max(cost, 1)` it answers: its own hit's, or 1 for a block (every hit is refused). */
  readonly need: number;
  /** Learned from a hit with `blockSec`: a block, so a hit with `blockSec` may be answered by it. */
  readonly blocked: boolean;
}

/**
 * The refusals one Redis store remembers: {@link answer} before a hit is
 * queued (at once, in the same tick, no promise), {@link learn} when Redis
 * has decided one. The store's lanes teach it as they settle their hits,
 * so an admission costs nothing here but a look at an empty map. A local
 * answer is Redis' refusal with `now` moved on by the time elapsed, so
 * DRF's wait and the rate-limit headers count down as Redis' would.
 *
 * A refusal is remembered per key for one rate (limit, duration and
 * algorithm): a hit on the key at another rate goes to Redis, and a refusal
 * at that rate takes the key's place. At most `maxKeys` keys: when full, the
 * expired refusals go first, then the oldest remembered.
 */
export class RefusalCache {
  private readonly refusals = new Map<string, Refusal>();
  /** Bumped whenever refusals are forgotten: a batch sent before that and decided after teaches nothing. */
  private epoch = 0;

  /** @param maxKeys keys remembered at most. */
  constructor(private readonly maxKeys = REFUSAL_CACHE_MAX_KEYS) {}

  /** Keys remembered now (tests, metrics). */
  get size(): number {
    return this.refusals.size;
  }

  /** What a batch reads when it is sent and hands back to {@link learn}: refusals forgotten since are not learned. */
  get generation(): number {
    return this.epoch;
  }

  /** Forgets every refusal remembered here; batches already sent will not bring theirs back. */
  clear(): void {
    this.refusals.clear();
    this.epoch++;
  }

  /** Forgets this process's refusal of `key` (its count went down, or a block came); batches already sent too. */
  drop(key: string): void {
    this.refusals.delete(key);
    this.epoch++;
  }

  /**
   * Redis' refusal of `hit` as it stands now, or `undefined` to ask Redis (nothing known, another rate, a
   * cost it does not cover, a hit that would start a block, or over).
   */
  answer(hit: ScriptHit): HitResult | undefined {
    if (this.refusals.size === 0) return undefined;
    const refusal = this.refusals.get(hit.key);
    if (refusal === undefined) return undefined;
    const given = hit.now !== undefined;
    if (refusal.limit !== hit.limit || refusal.duration !== hit.duration || refusal.algorithm !== hit.algorithm)
      return undefined;
    const blocks = hit.extra !== undefined && hit.extra.blockSec > 0;
    if (refusal.given !== given || needOf(hit) < refusal.need || (blocks && !refusal.blocked)) return undefined;
    const at = hit.now ?? monotonicSeconds();
    if (at >= refusal.until || at < refusal.origin) {
      // Over (or a clock set back, in a test): Redis decides again.
      this.refusals.delete(hit.key);
      return undefined;
    }
    const { now, count, oldest } = refusal.result;
    return { allowed: false, now: now + (at - refusal.origin), count, oldest };
  }

  /** The refusals of an all-or-none request's hits, only if every one is known refused; else `undefined`. */
  answerAll(hits: readonly ScriptHit[]): HitResult[] | undefined {
    if (this.refusals.size === 0 || hits.length === 0) return undefined;
    const local: HitResult[] = [];
    for (const hit of hits) {
      const answer = this.answer(hit);
      if (answer === undefined) return undefined;
      local.push(answer);
    }
    return local;
  }

  /**
   * Remembers Redis' decision of `hit` if it is a refusal that holds until its wait ends. `sentAt`: this
   * process's {@link monotonicSeconds} when the hit's batch was sent; `generation`, {@link generation} then.
   */
  learn(hit: ScriptHit, result: HitResult, sentAt: number, generation: number): void {
    const { key, limit, duration } = hit;
    // count === limit: a full window, whose refusal ends when DRF's wait does; no other refusal is ours to time.
    if (result.allowed || result.count !== limit || generation !== this.epoch) return;
    const given = hit.now !== undefined;
    const origin = hit.now ?? sentAt;
    // A sliding log admits once its oldest stamp is `duration` old; GCRA at `oldest + duration`, less its slack.
    const slack = hit.algorithm === 'g' && limit > 0 ? gcraSlack(limit, duration / limit) : 0;
    const end = (result.oldest ?? result.now) + duration - slack - MARGIN_SECONDS;
    const until = origin + (end - result.now);
    if (!(until > origin)) return;
    const need = needOf(hit);
    const known = this.refusals.get(key);
    if (known === undefined) {
      if (this.refusals.size >= this.maxKeys) this.makeRoom(given, origin);
    } else if (
      known.until > until &&
      known.need <= need &&
      known.limit === limit &&
      known.duration === duration &&
      known.algorithm === hit.algorithm
    ) {
      return; // an earlier-sent refusal that lasts longer already stands
    }
    const blocked = hit.extra !== undefined && hit.extra.blockSec > 0;
    // A block refuses every hit: it answers any cost.
    this.refusals.set(key, {
      limit,
      duration,
      algorithm: hit.algorithm,
      given,
      origin,
      until,
      result,
      need: blocked ? 1 : need,
      blocked,
    });
  }

  /**
   * Frees a quarter of the room at least, so a flood of new refused keys costs O(1) a key: the expired
   * refusals first, then the oldest remembered (a Map iterates in insertion order).
   */
  private makeRoom(given: boolean, at: number): void {
    const monotonic = given ? monotonicSeconds() : at;
    for (const [key, refusal] of this.refusals) {
      // A refusal timed on the other clock is judged on its own: `at` is on the asking hit's.
      const now = refusal.given ? (given ? at : Number.NEGATIVE_INFINITY) : monotonic;
      if (now >= refusal.until) this.refusals.delete(key);
    }
    let excess = this.refusals.size - Math.floor((this.maxKeys * 3) / 4);
    if (excess <= 0) return;
    for (const key of this.refusals.keys()) {
      this.refusals.delete(key);
      if (--excess === 0) return;
    }
  }
}

/** The least `max(cost, 1)` a hit needs: a look counts as 1. */
function needOf(hit: ScriptHit): number {
  return hit.extra === undefined ? 1 : Math.max(hit.extra.cost, 1);
}
