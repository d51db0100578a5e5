/**
 * A shared store's refusals, remembered in this process: a key the store
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
 * refuses until the wait ends, as it was told (docs/caches.md).
 *
 * Costs and blocks: a refusal of a hit of cost `c` holds for hits of cost
 * `c` or more (a look counts as 1), until the wait for `c`; one answered
 * for a hit with `blockSec` is a block (the store started one, or one held
 * already), which refuses every hit until it ends, so it is answered here
 * for any cost and any `blockSec`. A hit with `blockSec` is never answered
 * by a refusal learned without one: the store would start its block.
 * `hitAll()` is answered here only when every key of the request is known
 * refused (the store would refuse each and record none); otherwise it goes
 * to the store, whose refusals are learned key by key.
 *
 * `refund()`, `block()` and `forget()` (counts going down, or an admin's
 * reset) drop this process's refusal of the key, so its next hit asks the
 * store. Other processes are not told: each keeps answering its own
 * remembered refusal of that key until the wait it was given ends (at most
 * the block or window it saw), then asks the store again.
 */
import { isThenable } from '../utils/chain';
import { gcraSlack } from './algorithms';
import {
  type HitResult,
  type KeySpec,
  monotonicSeconds,
  type StoreHit,
  type ThrottleAlgorithm,
  type ThrottleStore,
} from './throttle-store';

/** Keys remembered at most: a refusal costs about 200 bytes, so a flood of distinct keys holds about 2 MB. */
export const REFUSAL_CACHE_MAX_KEYS = 10_000;

/** Seconds a local refusal ends before the store's would: floating-point rounding never keeps a client out. */
const MARGIN_SECONDS = 1e-6;

/** One remembered refusal of a key, for one rate. */
interface Refusal {
  readonly limit: number;
  readonly duration: number;
  readonly gcra: boolean;
  /**
   * `true` when the throttle gave `now` (the module's `clock`, or a store without a clock of its own): the
   * times below are on that clock. Else the store read its own (Redis' TIME) and they are this process's
   * {@link monotonicSeconds}.
   */
  readonly given: boolean;
  /** The clock when the hit was sent: the store decided no earlier, so the local `now` never lags the store's. */
  readonly origin: number;
  /** When the refusal ends on the same clock, a hair early. */
  readonly until: number;
  /** The store's answer: `now` on the store's clock, and the window it saw. */
  readonly result: HitResult;
  /** The least `max(cost, 1)` it answers: its own hit's, or 1 for a block (every hit is refused). */
  readonly need: number;
  /** Learned from a hit with `blockSec`: a block, so a hit with `blockSec` may be answered by it. */
  readonly blocked: boolean;
}

/** What {@link RefusalCache} needs beyond the store it fronts. */
export interface RefusalCacheOptions {
  /** Keys remembered at most; default {@link REFUSAL_CACHE_MAX_KEYS}. */
  readonly maxKeys?: number;
}

/**
 * A {@link ThrottleStore} in front of a shared one (Redis, a get/set cache)
 * that answers a key it knows to be refused at once, in the same tick, until
 * the refusal's wait ends; every other hit goes to the store. A local answer
 * is the store's refusal with `now` moved on by the time elapsed, so DRF's
 * wait and the rate-limit headers count down as the store's would.
 *
 * A refusal is remembered per key for one rate (limit, duration and
 * algorithm): a hit on the key at another rate goes to the store, and a
 * refusal at that rate takes the key's place. At most `maxKeys` keys: when
 * full, the expired refusals go first, then the oldest remembered.
 */
export class RefusalCache implements ThrottleStore {
  readonly ownClock: boolean;
  /** Forgets every refusal remembered here, then the store's counts; absent when the store cannot forget. */
  readonly reset?: (keyPatterns: readonly string[]) => void | Promise<void>;
  /** The store's, answered here when every key is known refused; absent when the store has none. */
  readonly hitAll?: (hits: readonly StoreHit[], now: number | undefined) => HitResult[] | Promise<HitResult[]>;
  /** The store's, after this process's refusal of the key is dropped; each absent when the store has none. */
  readonly refund?: (key: string, cost: number, spec: KeySpec, now: number | undefined) => void | Promise<void>;
  readonly block?: (key: string, seconds: number, spec: KeySpec, now: number | undefined) => void | Promise<void>;
  readonly forget?: (key: string) => void | Promise<void>;
  private readonly refusals = new Map<string, Refusal>();
  private readonly maxKeys: number;
  /** Bumped by `reset()`: a refusal sent before it and answered after it is not remembered. */
  private generation = 0;

  /** @param store the shared store whose refusals are remembered. */
  constructor(
    readonly store: ThrottleStore,
    options: RefusalCacheOptions = {},
  ) {
    this.ownClock = store.ownClock;
    this.maxKeys = options.maxKeys ?? REFUSAL_CACHE_MAX_KEYS;
    if (typeof store.reset === 'function') {
      this.reset = (keyPatterns) => {
        this.clear();
        return store.reset!(keyPatterns);
      };
    }
    const { hitAll, refund, block, forget } = store;
    if (typeof hitAll === 'function') this.hitAll = (hits, now) => this.decideAll(hitAll.bind(store), hits, now);
    if (typeof refund === 'function')
      this.refund = (key, cost, spec, now) => (this.drop(key), refund.call(store, key, cost, spec, now));
    if (typeof block === 'function')
      this.block = (key, seconds, spec, now) => (this.drop(key), block.call(store, key, seconds, spec, now));
    if (typeof forget === 'function') this.forget = (key) => (this.drop(key), forget.call(store, key));
  }

  /** Keys remembered now (tests, metrics). */
  get size(): number {
    return this.refusals.size;
  }

  /** Forgets every refusal remembered here; hits in flight will not bring theirs back. */
  clear(): void {
    this.refusals.clear();
    this.generation++;
  }

  /** Forgets this process's refusal of `key` (its count went down, or a block came); hits in flight too. */
  private drop(key: string): void {
    this.refusals.delete(key);
    this.generation++;
  }

  hit(
    key: string,
    limit: number,
    durationSec: number,
    now: number | undefined,
    algorithm?: ThrottleAlgorithm,
    scope?: string,
    cost?: number,
    blockSec?: number,
  ): HitResult | Promise<HitResult> {
    const given = now !== undefined;
    const at = given ? now : monotonicSeconds();
    const gcra = algorithm === 'gcra';
    const need = cost === undefined || cost <= 1 ? 1 : cost;
    const blocks = blockSec !== undefined && blockSec > 0;
    if (this.refusals.size !== 0) {
      const refusal = this.refusals.get(key);
      if (refusal !== undefined) {
        const local = this.answer(key, refusal, limit, durationSec, gcra, given, at, need, blocks);
        if (local !== undefined) return local;
      }
    }
    const result = this.store.hit(key, limit, durationSec, now, algorithm, scope, cost, blockSec);
    const generation = this.generation;
    if (isThenable<HitResult>(result)) {
      return Promise.resolve(result).then((r) =>
        this.learn(key, r, limit, durationSec, gcra, given, at, generation, need, blocks),
      );
    }
    return this.learn(key, result, limit, durationSec, gcra, given, at, generation, need, blocks);
  }

  /** `hitAll` through this cache: answered here if every key is known refused, else by the store, then learned. */
  private decideAll(
    hitAll: NonNullable<ThrottleStore['hitAll']>,
    hits: readonly StoreHit[],
    now: number | undefined,
  ): HitResult[] | Promise<HitResult[]> {
    const given = now !== undefined;
    const at = given ? now : monotonicSeconds();
    if (this.refusals.size !== 0 && hits.length > 0) {
      const local: HitResult[] = [];
      for (const { key, limit, durationSec, algorithm, cost, blockSec } of hits) {
        const refusal = this.refusals.get(key);
        const need = cost === undefined || cost <= 1 ? 1 : cost;
        const gcra = algorithm === 'gcra';
        const answer =
          refusal && this.answer(key, refusal, limit, durationSec, gcra, given, at, need, (blockSec ?? 0) > 0);
        if (!answer) break;
        local.push(answer);
      }
      if (local.length === hits.length) return local;
    }
    const generation = this.generation;
    const learnAll = (results: HitResult[]): HitResult[] => {
      for (let i = 0; i < hits.length; i++) {
        const { key, limit, durationSec, algorithm, cost, blockSec } = hits[i];
        const need = cost === undefined || cost <= 1 ? 1 : cost;
        const gcra = algorithm === 'gcra';
        this.learn(key, results[i], limit, durationSec, gcra, given, at, generation, need, (blockSec ?? 0) > 0);
      }
      return results;
    };
    const results = hitAll(hits, now);
    return isThenable<HitResult[]>(results) ? Promise.resolve(results).then(learnAll) : learnAll(results);
  }

  /**
   * The store's refusal as it stands at `at`, or `undefined` to ask the store (another rate, a cost it does not
   * cover, a hit that would start a block, or over).
   */
  private answer(
    key: string,
    refusal: Refusal,
    limit: number,
    duration: number,
    gcra: boolean,
    given: boolean,
    at: number,
    need: number,
    blocks: boolean,
  ): HitResult | undefined {
    if (refusal.limit !== limit || refusal.duration !== duration || refusal.gcra !== gcra) return undefined;
    if (refusal.given !== given || need < refusal.need || (blocks && !refusal.blocked)) return undefined;
    if (at >= refusal.until || at < refusal.origin) {
      // Over (or a clock set back, in a test): the store decides again.
      this.refusals.delete(key);
      return undefined;
    }
    const { now, count, oldest } = refusal.result;
    return { allowed: false, now: now + (at - refusal.origin), count, oldest };
  }

  /** Remembers `result` if it is a refusal that holds until its wait ends; returns it as it is. */
  private learn(
    key: string,
    result: HitResult,
    limit: number,
    duration: number,
    gcra: boolean,
    given: boolean,
    origin: number,
    generation: number,
    need: number,
    blocked: boolean,
  ): HitResult {
    // count === limit: a full window, whose refusal ends when DRF's wait does; no other refusal is ours to time.
    if (result.allowed || result.count !== limit || generation !== this.generation) return result;
    // Made without the key's counts (an overload, the 'local' fallback): it stands for one request only.
    if (result.provisional === true) return result;
    // A sliding log admits once its oldest stamp is `duration` old; GCRA at `oldest + duration`, less its slack.
    const slack = gcra && limit > 0 ? gcraSlack(limit, duration / limit) : 0;
    const end = (result.oldest ?? result.now) + duration - slack - MARGIN_SECONDS;
    const until = origin + (end - result.now);
    if (!(until > origin)) return result;
    const known = this.refusals.get(key);
    if (known === undefined) {
      if (this.refusals.size >= this.maxKeys) this.makeRoom(given, origin);
    } else if (
      known.until > until &&
      known.need <= need &&
      known.limit === limit &&
      known.duration === duration &&
      known.gcra === gcra
    ) {
      return result; // an earlier-sent refusal that lasts longer already stands
    }
    // A block refuses every hit: it answers any cost.
    this.refusals.set(key, { limit, duration, gcra, given, origin, until, result, need: blocked ? 1 : need, blocked });
    return result;
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
