import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency } from '@nestjs/common';
import type { ThrottleType } from './throttles/base.throttle';

/**
 * The part of a cache-manager `Cache` the throttles use. A cache from
 * cache-manager 5 (`caching()`/`createCache()`, `cache-manager-ioredis-yet`)
 * or from cache-manager 6/7 fits as it is.
 */
export interface ThrottleCache {
  get<T>(key: string): Promise<T | undefined | null>;
  /** `ttl` is in milliseconds, as in every cache-manager line. */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
  /** cache-manager 5 exposes its store; the Redis and memory fast paths are found through it. */
  readonly store?: unknown;
}

/** What to do when the cache throws or is slower than `cacheTimeoutMs`. */
export type CacheErrorPolicy = 'allow' | 'deny';

/** Options of {@link RestflowThrottleModule.forRoot}. Each maps to a DRF setting. */
export interface RestflowThrottleOptions {
  /** DRF `DEFAULT_THROTTLE_CLASSES`: throttles of every handler without its own. Default `[]`. */
  defaultThrottles?: ThrottleType[];
  /** DRF `DEFAULT_THROTTLE_RATES`: scope -> `"N/period"`; `null` means not throttled. */
  rates?: Record<string, string | null>;
  /** The default cache (alias `'default'`). Default: a bounded in-memory cache made by the module. */
  cache?: ThrottleCache;
  /** Named caches a throttle can pick with `cache = 'name'` (DRF's `caches[...]`). */
  caches?: Record<string, ThrottleCache>;
  /** DRF `NUM_PROXIES`. Unset: the platform's `request.ip`. */
  numProxies?: number;
  /** A cache fault lets the request through (`'allow'`, default) or answers 503 (`'deny'`). */
  onCacheError?: CacheErrorPolicy;
  /** A cache call slower than this many milliseconds is a fault. Default 1000. */
  cacheTimeoutMs?: number;
  /** Key bound of the default in-memory cache (least recently used evicted first). Default 500 000. */
  memoryCacheMaxKeys?: number;
}

/** Options of {@link RestflowThrottleModule.forRootAsync}. */
export interface RestflowThrottleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: never[]) => RestflowThrottleOptions | Promise<RestflowThrottleOptions>;
}
