/** DRF's `SimpleRateThrottle`: N requests per duration per cache key, counted atomically by the store. */
import { Inject, Optional, type ExecutionContext } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { chain, isThenable } from '../utils/chain';
import type { ThrottleCacheLike } from '../module/options';
import { monotonicSeconds, type ThrottleAlgorithm, type ThrottleStore } from '../stores/throttle-store';
import { ThrottleStores } from '../module/caches';
import { BaseThrottle, type RouteInfo } from './base.throttle';
import { KeyFormat, keyPattern, routeKey, safeKey, userIdent } from '../identity/cache-key';
import { computeWait, decision, parseRate, sendHit, type ParsedRate, type PlannedHit, type RateDecision } from './rate';
import { RequestRates } from './request-rates';
import { standaloneStore } from './standalone-store';
import type { BlockDuration } from './block-duration';
import { type HitWeights, hitWeights } from './request-cost';
import type { ThrottleRequest, ThrottleUser } from '../identity/throttle-request';

export type { PlannedHit, RateDecision } from './rate';

/**
 * DRF's `SimpleRateThrottle`: `N` requests per `duration` per cache key.
 * Subclasses say *what* to count by setting `scope` (looked up in the
 * module's `rates`) or `rate`, and implementing `getCacheKey()`; the store
 * decides *how*, atomically. `algorithm = 'gcra'` trades DRF's exact log for
 * constant memory per key (docs/algorithms.md).
 */
export abstract class SimpleRateThrottle extends BaseThrottle {
  /** The key into the module's `rates`. */
  declare scope?: string;
  /** A fixed rate such as `"100/hour"`, which skips the `rates` lookup. */
  declare rate?: string | null;
  /** A cache, or the alias of one in the module's `caches`. Default: the module's cache. */
  declare cache?: ThrottleCacheLike | string;
  /**
   * `{scope}` and `{ident}` are replaced by `formatKey()`; so is `{route}`, by the route's controller and
   * handler (`ArticlesController.list`), which makes each route count apart, as `@nestjs/throttler` does.
   */
  cacheFormat = 'throttle_{scope}_{ident}';
  /** DRF's sliding log (exact), or `'gcra'` (constant memory per key). */
  algorithm: ThrottleAlgorithm = 'sliding-log';
  /**
   * Once refused, a client stays refused this long (`'15m'`, `'30s'`, or seconds), and never less than until
   * it has room again; its requests meanwhile count for nothing. Wins over the module's `blockDurations[scope]`.
   * Default: none (DRF).
   */
  declare blockDuration?: BlockDuration;

  /** The module's stores; absent when used outside the module. */
  @Optional() @Inject(ThrottleStores) protected readonly stores?: ThrottleStores;

  /**
   * Optional: the rate for this request (a user's plan, a tenant's contract),
   * sync or async; `null` = not throttled, `undefined` = the class's rate.
   */
  getRequestRate?(
    request: ThrottleRequest,
    context: ExecutionContext,
  ): string | null | undefined | PromiseLike<string | null | undefined>;

  /**
   * Optional: what this request counts as (a bulk call's item count, a query's complexity), sync or async: a
   * whole number >= 0. Wins over the route's `@ThrottleCost()`. Anything else fails the request (500).
   */
  getRequestCost?(request: ThrottleRequest, context: ExecutionContext): number | PromiseLike<number>;

  private parsed?: ParsedRate;
  private storeRef?: ThrottleStore;
  private keyFormat?: KeyFormat;
  /** The route this view of the throttle is bound to, for `{route}` (see `forRoute()`). */
  private routeKey?: string;
  private requestRates?: RequestRates;
  /** A cost other than 1 or a block, on this route (see `prepare()`); `undefined` on the usual route. */
  private weights?: HitWeights;
  /** Per request, for DRF's `wait(request)` after `allowRequest()`. Weak: a finished request leaves nothing. */
  private readonly decisions = new WeakMap<object, RateDecision>();

  /** Requests allowed per `duration` (after the rate is resolved). */
  get numRequests(): number | null {
    return this.resolvedRate()[0];
  }

  /** Window length in seconds (after the rate is resolved). */
  get duration(): number | null {
    return this.resolvedRate()[1];
  }

  /**
   * Seconds, fractional: the module's `clock` when given, else a monotonic
   * clock. Overridable, as in DRF, for stores that count on the process's
   * time; a store with a clock of its own (Redis) follows only the module's
   * `clock`, so that every process agrees on one time.
   */
  timer(): number {
    return this.settings?.clock?.() ?? monotonicSeconds();
  }

  /** The rate string for this throttle's scope, DRF's `get_rate`. */
  getRate(): string | null {
    if (!this.scope) {
      throw new ImproperlyConfiguredError(
        `You must set either \`.scope\` or \`.rate\` for '${this.constructor.name}' throttle`,
        'RFT_MISSING_SCOPE_OR_RATE',
      );
    }
    const rates = this.settings?.rates ?? {};
    if (!Object.hasOwn(rates, this.scope)) {
      throw new ImproperlyConfiguredError(`No default throttle rate set for '${this.scope}' scope`, 'RFT_MISSING_RATE');
    }
    return rates[this.scope];
  }

  /** `"N/period"` -> `[N, seconds]`; `null` -> `[null, null]`. */
  parseRate(rate: string | null): ParsedRate {
    return parseRate(rate, this.scope);
  }

  /** The key of this request's bucket, or `null` to not throttle it. Build it with `formatKey(ident)`. */
  abstract getCacheKey(request: ThrottleRequest, context: ExecutionContext): string | null | PromiseLike<string | null>;

  /** `cacheFormat` with the scope and ident filled in; long or unprintable idents are hashed. */
  formatKey(ident: string | number, scope: string | undefined = this.scope): string {
    const text = typeof ident === 'string' ? ident : String(ident);
    const format = this.keyFormat;
    // A route view's format is its own from the start (routeView()), so the route needs no check here.
    if (format !== undefined && format.format === this.cacheFormat && format.scope === scope) return format.key(text);
    this.keyFormat = new KeyFormat(this.cacheFormat, scope, this.routeKey);
    return this.keyFormat.key(text);
  }

  /** Whether the request carries an authenticated user (DRF's `user.is_authenticated`). */
  isAuthenticated(request: ThrottleRequest): boolean {
    const user = request.user;
    return typeof user === 'object' && user !== null && (user as ThrottleUser).isAuthenticated !== false;
  }

  /** The authenticated user's id (`id`, `pk`, `sub` or `userId`) as an ident; Buffers by their bytes. */
  getUserId(request: ThrottleRequest): string | undefined {
    const user = request.user as ThrottleUser;
    const id = user.id ?? user.pk ?? user.sub ?? user.userId;
    return id === undefined || id === null ? undefined : userIdent(id, this.constructor.name);
  }

  /**
   * At startup: the rate must parse and the cache must exist, or the app does not start. With `{route}` in
   * `cacheFormat`, the route gets a view of this singleton bound to it (as ScopedRateThrottle's scope), so
   * each route counts apart with nothing looked up per request.
   */
  override forRoute(route: RouteInfo): BaseThrottle | null {
    // A route's cost (its own, or asked per request and named with the route in errors) needs a view too.
    const own = this.cacheFormat.includes('{route}') || route.cost !== undefined || this.getRequestCost !== undefined;
    return (own ? this.routeView(route.name) : this).prepare(route);
  }

  /** A view of this throttle whose keys hold the route; its store is asked again, to learn the view's keys. */
  private routeView(name: string): this {
    const view = Object.create(this) as this;
    view.routeKey = routeKey(name);
    view.keyFormat = undefined;
    view.storeRef = undefined;
    return view;
  }

  private prepare(route: RouteInfo): BaseThrottle | null {
    this.parsed = undefined;
    this.store();
    const hook = this.getRequestCost;
    const perRequest = this.getRequestRate !== undefined;
    // A per-request rate may fall back to the class's rate (`undefined`): that one must exist too.
    const limit = perRequest && !(this.rate || this.scope) ? undefined : this.resolvedRate()[0];
    this.weights = hitWeights({
      throttle: this.constructor.name,
      route: route.name,
      blockDuration: this.blockDuration,
      configuredBlock: this.scope === undefined ? undefined : this.settings?.blockDurations[this.scope],
      cost: hook === undefined ? route.cost : (request, context) => hook.call(this, request, context),
      limit: perRequest || hook !== undefined ? undefined : limit,
      logger: this.settings?.logger,
    });
    return limit === null && !perRequest ? null : this;
  }

  allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | PromiseLike<boolean> {
    return chain(this.decide(request, context), (decision) => this.remember(request, decision));
  }

  /** DRF's `wait()`: the remaining window shared among the requests still available. */
  override wait(request?: ThrottleRequest): number | null {
    const decision = request === undefined ? undefined : this.decisions.get(request);
    return decision === undefined ? null : computeWait(decision);
  }

  /**
   * The whole decision for a request (wait, headers, events), or `null` when
   * it is not throttled (no rate, or no key). Immediate as long as the rate,
   * the key and the store answer at once; a promise only when one of them waits.
   */
  decide(request: ThrottleRequest, context: ExecutionContext): RateDecision | null | Promise<RateDecision | null> {
    if (this.weights !== undefined) return chain(this.planHit(request, context), sendHit);
    if (this.getRequestRate === undefined) return this.decideAt(this.parsed ?? this.resolvedRate(), request, context);
    return chain(this.requestRate(request, context), (rate) => this.decideAt(rate, request, context));
  }

  private requestRate(request: ThrottleRequest, context: ExecutionContext): ParsedRate | PromiseLike<ParsedRate> {
    this.requestRates ??= new RequestRates(this.settings?.logger);
    return this.requestRates.rateOf(this, request, context);
  }

  /**
   * Everything `decide()` works out before it asks the store (rate, key, cost, block), or `null` when the
   * request is not throttled: the guard's all-or-none check (`countRefused: false`) asks the store once for
   * every throttle of the route, and makes each answer a decision with `settleHit()`.
   */
  planHit(request: ThrottleRequest, context: ExecutionContext): PlannedHit | null | Promise<PlannedHit | null> {
    const rate =
      this.getRequestRate === undefined ? (this.parsed ?? this.resolvedRate()) : this.requestRate(request, context);
    return chain(rate, ([limit, durationSec]) =>
      limit === null
        ? null
        : chain(this.getCacheKey(request, context), (key) => {
            if (key === null) return null;
            const { weights, algorithm, scope } = this;
            return chain(weights === undefined ? 1 : weights.cost(request, context), (cost) => {
              const store = this.store();
              // A cost that can never fit is not the client's pace: it is refused, and blocks nothing.
              const blockSec = cost > limit ? 0 : (weights?.blockSec ?? 0);
              const hit = { key: safeKey(key), limit, durationSec: durationSec!, algorithm, scope, cost, blockSec };
              return { store, now: this.nowFor(store), hit };
            });
          }),
    );
  }

  /** The store this throttle counts in, resolved once: all of a route's throttles must share one for `hitAll`. */
  countingStore(): ThrottleStore {
    return this.store();
  }

  private decideAt(
    rate: ParsedRate,
    request: ThrottleRequest,
    context: ExecutionContext,
  ): RateDecision | null | Promise<RateDecision | null> {
    const numRequests = rate[0];
    if (numRequests === null) return null;
    const duration = rate[1]!;
    const key = this.getCacheKey(request, context);
    // Inline rather than chain(): no closure is made on the hot path, where the key is there at once.
    if (isThenable(key))
      return Promise.resolve(key).then((k) => (k === null ? null : this.record(k, numRequests, duration)));
    return key === null ? null : this.record(key, numRequests, duration);
  }

  private record(key: string, numRequests: number, duration: number): RateDecision | Promise<RateDecision> {
    const store = this.storeRef ?? this.store();
    const counted = safeKey(key);
    const scope = this.scope;
    const result = store.hit(counted, numRequests, duration, this.nowFor(store), this.algorithm, scope);
    if (isThenable(result))
      return Promise.resolve(result).then((r) => decision(r, numRequests, duration, scope, counted));
    return decision(result, numRequests, duration, scope, counted);
  }

  /**
   * `undefined` lets a store with its own clock (Redis: the server's TIME)
   * use it, unless the module was given an explicit `clock`: then that clock
   * (through `timer()`) drives every store alike.
   */
  private nowFor(store: ThrottleStore): number | undefined {
    return store.ownClock && this.settings?.clock === undefined ? undefined : this.timer();
  }

  private remember(request: ThrottleRequest, decision: RateDecision | null): boolean {
    if (decision === null) return true;
    if (!decision.allowed) this.decisions.set(request, decision);
    return decision.allowed;
  }

  private resolvedRate(): ParsedRate {
    this.parsed ??= this.parseRate(this.rate ? this.rate : this.getRate());
    return this.parsed;
  }

  /** The store this throttle (or this route's view of it) counts in, resolved once. */
  protected store(): ThrottleStore {
    if (this.storeRef !== undefined) return this.storeRef;
    this.storeRef = this.storeOf(this.cache);
    return this.storeRef;
  }

  private storeOf(cache: ThrottleCacheLike | string | undefined): ThrottleStore {
    if (this.stores !== undefined)
      return this.stores.storeFor(cache, keyPattern(this.cacheFormat, this.scope, this.routeKey));
    return standaloneStore(cache, this.constructor.name);
  }
}
