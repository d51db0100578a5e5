import type { ExecutionContext } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { ThrottleCache } from '../restflow-throttle.options';
import { MemoryThrottleStore } from '../stores/memory.store';
import { monotonicSeconds, type HitResult, type ThrottleStore } from '../stores/throttle-store';
import { BaseThrottle } from './base.throttle';
import { safeIdent, safeKey } from './cache-key';
import { parseRate, type ParsedRate } from './rate';
import type { ThrottleRequest, ThrottleUser } from './throttle-request';

/** What one decision left for `wait()`: the store's answer and the rate it was made against. */
interface Decision extends HitResult {
  readonly numRequests: number;
  readonly duration: number;
}

/**
 * DRF's `SimpleRateThrottle`: a sliding log of request timestamps per cache
 * key, `N` requests per `duration`. Subclasses say *what* to count by setting
 * `scope` (looked up in the module's `rates`) or `rate`, and implementing
 * `getCacheKey()`; the store decides *how*, atomically.
 */
export abstract class SimpleRateThrottle extends BaseThrottle {
  /** The key into the module's `rates`. */
  declare scope?: string;
  /** A fixed rate such as `"100/hour"`, which skips the `rates` lookup. */
  declare rate?: string | null;
  /** A cache, or the alias of one in the module's `caches`. Default: the module's cache. */
  declare cache?: ThrottleCache | string;
  /** `{scope}` and `{ident}` are replaced by `formatKey()`. */
  cacheFormat = 'throttle_{scope}_{ident}';

  private parsed?: ParsedRate;
  private storeRef?: ThrottleStore;
  /** Per request: what `wait()` needs. Weak, so a finished request leaves nothing behind. */
  private readonly decisions = new WeakMap<object, Decision>();

  /** Requests allowed per `duration` (after the rate is resolved). */
  get numRequests(): number | null {
    return this.resolvedRate()[0];
  }

  /** Window length in seconds (after the rate is resolved). */
  get duration(): number | null {
    return this.resolvedRate()[1];
  }

  /** Seconds, fractional; override to inject a clock (tests, simulations). */
  timer(): number {
    return monotonicSeconds();
  }

  /** The rate string for this throttle's scope, DRF's `get_rate`. */
  getRate(): string | null {
    if (!this.scope) {
      throw new ImproperlyConfiguredError(`You must set either \`.scope\` or \`.rate\` for '${this.constructor.name}' throttle`);
    }
    const rates = this.runtime?.rates ?? {};
    if (!Object.prototype.hasOwnProperty.call(rates, this.scope)) {
      throw new ImproperlyConfiguredError(`No default throttle rate set for '${this.scope}' scope`);
    }
    return rates[this.scope];
  }

  /** `"N/period"` -> `[N, seconds]`; `null` -> `[null, null]`. */
  parseRate(rate: string | null): ParsedRate {
    return parseRate(rate, this.scope);
  }

  /**
   * The key of this request's bucket, or `null` to not throttle it. Build it
   * with `formatKey(ident)` so it follows `cacheFormat`.
   */
  abstract getCacheKey(request: ThrottleRequest, context: ExecutionContext): string | null | Promise<string | null>;

  /** `cacheFormat` with the scope and ident filled in; long or unprintable idents are hashed. */
  formatKey(ident: string | number, scope: string | undefined = this.scope): string {
    const safe = safeIdent(String(ident));
    // Joined, not concatenated: a template literal makes a rope that the key check and the
    // store's Map first copy into a flat string, and that the Map would keep as two objects.
    if (this.cacheFormat === 'throttle_{scope}_{ident}') return ['throttle_', scope ?? '', '_', safe].join('');
    return this.cacheFormat.replaceAll('{scope}', scope ?? '').replaceAll('{ident}', safe);
  }

  /** Whether the request carries an authenticated user (DRF's `user.is_authenticated`). */
  isAuthenticated(request: ThrottleRequest): boolean {
    const user = request.user;
    return typeof user === 'object' && user !== null && (user as ThrottleUser).isAuthenticated !== false;
  }

  /** The authenticated user's id: `id`, `pk`, `sub` or `userId`, the first that is set. */
  getUserId(request: ThrottleRequest): string | undefined {
    const user = request.user as ThrottleUser;
    const id = user.id ?? user.pk ?? user.sub ?? user.userId;
    return id === undefined || id === null ? undefined : String(id);
  }

  override checkConfiguration(handlerScope?: string): void {
    void handlerScope;
    this.parsed = undefined;
    this.resolvedRate();
  }

  /**
   * The rate this request is checked against; `[null, null]` lets it through.
   * `ScopedRateThrottle` picks it by the handler's scope.
   */
  protected rateFor(context: ExecutionContext): ParsedRate {
    void context;
    return this.resolvedRate();
  }

  allowRequest(request: ThrottleRequest, context: ExecutionContext): boolean | Promise<boolean> {
    const [numRequests, duration] = this.rateFor(context);
    if (numRequests === null) return true;
    const key = this.getCacheKey(request, context);
    if (key instanceof Promise) {
      return key.then((k) => (k === null ? true : this.record(request, k, numRequests, duration)));
    }
    return key === null ? true : this.record(request, key, numRequests, duration);
  }

  /** DRF's `wait()`: the remaining window shared among the requests still available. */
  override wait(request?: ThrottleRequest): number | null {
    const decision = request === undefined ? undefined : this.decisions.get(request);
    if (decision === undefined) return null;
    return computeWait(decision);
  }

  private record(request: ThrottleRequest, key: string, numRequests: number, duration: number): boolean | Promise<boolean> {
    const store = this.store();
    // A store with its own clock (Redis: the server's TIME) is used unless timer() was replaced (a test clock).
    const now = store.ownClock && this.timer === DEFAULT_TIMER ? undefined : this.timer();
    const result = store.hit(safeKey(key), numRequests, duration, now);
    if (result instanceof Promise) return result.then((r) => this.remember(request, r, numRequests, duration));
    return this.remember(request, result, numRequests, duration);
  }

  private remember(request: ThrottleRequest, result: HitResult, numRequests: number, duration: number): boolean {
    if (!result.allowed) this.decisions.set(request, { ...result, numRequests, duration });
    return result.allowed;
  }

  private resolvedRate(): ParsedRate {
    if (this.parsed === undefined) {
      const rate = this.rate ? this.rate : this.getRate();
      this.parsed = this.parseRate(rate);
    }
    return this.parsed;
  }

  private store(): ThrottleStore {
    if (this.storeRef === undefined) {
      // Outside the module (a throttle unit-tested on its own) the count lives in a process-wide memory store.
      this.storeRef = this.runtime?.storeFor(this.cache) ?? standaloneStore();
    }
    return this.storeRef;
  }
}

/** The timer as shipped; a subclass override or a spy on the prototype both differ from it. */
const DEFAULT_TIMER = SimpleRateThrottle.prototype.timer;

let standalone: MemoryThrottleStore | undefined;
function standaloneStore(): MemoryThrottleStore {
  return (standalone ??= new MemoryThrottleStore());
}

/**
 * DRF's wait formula. `remaining = duration - (now - oldest)` (the whole
 * duration with no history); `available = N - count + 1`; no positive
 * `available` means no estimate (`null`), else `remaining / available`.
 */
export function computeWait(state: {
  now: number;
  oldest: number | null;
  count: number;
  numRequests: number;
  duration: number;
}): number | null {
  const remaining = state.oldest === null ? state.duration : state.duration - (state.now - state.oldest);
  const available = state.numRequests - state.count + 1;
  if (available <= 0) return null;
  return remaining / available;
}
