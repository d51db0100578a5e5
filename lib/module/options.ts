/** The module's options: what `forRoot()` and `forRootAsync()` take, each documented. */
import type { ExecutionContext, InjectionToken, ModuleMetadata, OptionalFactoryDependency, Type } from '@nestjs/common';
import type { RedisClientLike } from '../stores/redis/clients/redis-client-like';
import type { ThrottleStore } from '../stores/throttle-store';
import type { ThrottleEventListener } from '../events/throttle-events';
import type { ThrottleType } from '../throttles/base.throttle';
import type { ThrottledExceptionFactory } from '../guard/throttled-info';
import type { BlockDuration } from '../throttles/block-duration';

/**
 * The part of a cache-manager `Cache` the throttles use. A cache from
 * cache-manager 5, 6 or 7 (Nest's `CACHE_MANAGER` included) fits as it is.
 */
export interface ThrottleCache {
  get<T>(key: string): Promise<T | undefined | null>;
  /** `ttl` is in milliseconds, as in every cache-manager line. */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
}

/**
 * What `cache` accepts: a cache-manager cache (5, 6 or 7, Nest's
 * `CACHE_MANAGER`), a Redis client (ioredis, node-redis, iovalkey; the
 * recommended way to share limits between processes), or a store of your own.
 * Described structurally, so no cache or Redis library is needed to use it.
 */
export type ThrottleCacheLike = ThrottleCache | ThrottleStore | RedisClientLike;

/**
 * What to do when the cache throws or is slower than `cacheTimeoutMs`: let the request through, answer 503,
 * or limit in this process at a share of the limit (`localFallback`; docs/faults.md).
 */
export type CacheErrorPolicy = 'allow' | 'deny' | 'local';

/** How `onCacheError: 'local'` limits while the shared cache is out. */
export interface LocalFallbackOption {
  /**
   * Processes (replicas, workers) sharing the cache: each limit is divided by this, rounded up, so that
   * together they admit about the shared limit. Whole number, 1 or more. Default 1.
   */
  processes?: number;
}

/** Optional rate-limit response headers: IETF `RateLimit`/`RateLimit-Policy`, or `X-RateLimit-*`. */
export type RateLimitHeaders = false | 'ietf' | 'legacy';

/** Options of {@link RestflowThrottleModule.forRoot}. Most map to a DRF setting. */
export interface RestflowThrottleOptions {
  /** DRF `DEFAULT_THROTTLE_CLASSES`: throttles of every handler without its own. Default `[]`. */
  defaultThrottles?: ThrottleType[];
  /** DRF `DEFAULT_THROTTLE_RATES`: scope -> `"N/period"`; `null` means not throttled. */
  rates?: Record<string, string | null>;
  /**
   * Scope -> how long a client refused in that scope stays refused (`'15m'`, `'30s'`, `'1h'`, or seconds):
   * its requests meanwhile are refused and count for nothing, and `Retry-After` says when the block ends. A
   * block never ends before the client has room again. A throttle's own `blockDuration` wins. Default: none,
   * as DRF (docs/costs-and-blocks.md).
   */
  blockDurations?: Record<string, BlockDuration>;
  /**
   * `true` (default, DRF): a request refused by one throttle is still counted by the route's throttles that
   * allowed it. `false`: a refused request is counted by none, as `@nestjs/throttler` does; the route's rate
   * throttles are then decided together, in one call to their store (docs/costs-and-blocks.md).
   */
  countRefused?: boolean;
  /** The default cache (alias `'default'`). Default: a bounded in-memory store made by the module. */
  cache?: ThrottleCacheLike;
  /** Named caches a throttle can pick with `cache = 'name'` (DRF's `caches[...]`). */
  caches?: Record<string, ThrottleCacheLike>;
  /** DRF `NUM_PROXIES`. Unset: the platform's `request.ip`. */
  numProxies?: number;
  /** IPv6 clients are keyed by this prefix length (they own a whole /64); `false` keys each address. Default 64. */
  ipv6Subnet?: number | false;
  /**
   * A cache fault lets the request through (`'allow'`, default), answers 503 (`'deny'`), or limits in this
   * process's memory until the cache recovers (`'local'`, at the share `localFallback` sets).
   */
  onCacheError?: CacheErrorPolicy;
  /** With `onCacheError: 'local'` only: the processes sharing the cache. Default `{ processes: 1 }`. */
  localFallback?: LocalFallbackOption;
  /** A cache call slower than this many milliseconds is a fault. Whole number, 1 to 2^31-1. Default 1000. */
  cacheTimeoutMs?: number;
  /**
   * A key that Redis or a get/set cache refused is answered in process until its wait ends, with no
   * round trip (only refusals are remembered, never admissions: docs/caches.md, "Refusal cache").
   * `false` asks the cache for every hit. Default `true`; the in-memory store has nothing to remember.
   */
  refusalCache?: boolean;
  /**
   * Keys per scope of the default in-memory store. A full scope evicts its harmless keys first and never
   * a client at its limit (docs/caches.md, "Bounds"). Default 500 000.
   */
  memoryCacheMaxKeys?: number;
  /** Rate-limit headers on throttled routes' responses. Default `false`, as DRF. */
  headers?: RateLimitHeaders;
  /**
   * The clock every throttle reads, in seconds (float). Given, it also wins
   * over Redis's server time, so tests can drive time; default: a monotonic clock.
   */
  clock?: () => number;
  /**
   * Listeners of every throttle decision and every cache outage (metrics,
   * audit; docs/metrics.md). None by default, and then nothing is built.
   */
  events?: ThrottleEventListener | ThrottleEventListener[];
  /**
   * The secret of the key hash in decision events. Default: a random one
   * made once per loaded copy of the library (shared by every app that
   * copy serves, new at each start); give every process the same one when
   * hashes from several processes, copies or restarts must match.
   */
  eventKeySecret?: string;
  /**
   * Requests for which this returns `true` (or a promise of `true`) are not throttled and not counted,
   * on every route, by every throttle (`@nestjs/throttler`'s `skipIf`). Called once per throttled
   * request, after the app's other guards, on every transport. Default: none, and then it costs nothing.
   */
  skipIf?: (context: ExecutionContext) => boolean | PromiseLike<boolean>;
  /**
   * Requests whose `User-Agent` matches one of these are not throttled and not counted (crawlers, uptime
   * probes). The header is the client's word: any client can send it. Outside HTTP it is GraphQL's HTTP
   * request's, a WebSocket handshake's; a microservice message has none. Default: none.
   */
  ignoreUserAgents?: RegExp[];
  /**
   * The error a refused request is answered with, in the app's own words, built from what refused it
   * (the throttles, the client key's hash, hits, limit, wait, the context). Over HTTP it is thrown as it is,
   * with `Retry-After` set; elsewhere an `HttpException`'s text becomes the transport's throttled error.
   * Default: DRF's `ThrottledException` (`{"detail": "Request was throttled. ..."}`). See docs/guide.md.
   */
  throttledException?: ThrottledExceptionFactory;
}

/** A class that makes the options, for `forRootAsync({ useClass })` / `useExisting`. */
export interface RestflowThrottleOptionsFactory {
  createThrottleOptions(): RestflowThrottleOptions | Promise<RestflowThrottleOptions>;
}

/** Options of {@link RestflowThrottleModule.forRootAsync}: exactly one of `useFactory`, `useClass`, `useExisting`. */
export interface RestflowThrottleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory?: (...args: never[]) => RestflowThrottleOptions | Promise<RestflowThrottleOptions>;
  useClass?: Type<RestflowThrottleOptionsFactory>;
  useExisting?: InjectionToken<RestflowThrottleOptionsFactory>;
}
