/** Picks the store for a configured cache: a ThrottleStore as is, Redis through Lua, anything else through get/set. */
import type { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { CacheErrorPolicy, ThrottleCache } from '../module/options';
import { CacheFaults } from './cache-faults';
import type { LocalFallback } from './local-fallback';
import { CacheManagerStore } from './get-set/cache-manager.store';
import { findRedisConnection, warnIfSharedGetSetCache } from './redis/find-redis';
import { RedisThrottleStore } from './redis/redis.store';
import { RefusalCache } from './redis/refusal-cache';
import type { ThrottleStore } from './throttle-store';

export interface StoreOptions {
  name: string;
  policy: CacheErrorPolicy;
  timeoutMs: number;
  logger: Logger;
  /** Policy `'local'`: this cache's in-process limiter while it is out. */
  local?: LocalFallback;
  /** Outage start (`'down'`) and end (`'up'`) of this cache (of one master, `node`, on a Cluster): the events. */
  onOutage?: (state: 'down' | 'up', reason?: string, node?: string) => void;
  /** `false`: Redis' refusals are not remembered in process ({@link RefusalCache}). Default `true`. */
  refusalCache?: boolean;
}

/**
 * Picks the fastest correct store for what the app configured: a
 * {@link ThrottleStore} (the default memory store, or the app's own) is used
 * as it is; a Redis client, or a cache with one behind it, gets the atomic
 * Lua store; any other cache goes through its get/set. Each remote store
 * gets its own {@link CacheFaults}: the deadline, the `onCacheError` policy
 * and the outage warnings of that cache; the Redis store also gets (unless
 * `refusalCache` is `false`) a {@link RefusalCache}, so a key Redis refused
 * is answered in process until its wait ends.
 */
export function storeForCache(cache: object, options: StoreOptions): ThrottleStore {
  if (isThrottleStore(cache)) return cache;
  const connection = findRedisConnection(cache);
  if (connection !== undefined) {
    const refusals = options.refusalCache === false ? undefined : new RefusalCache();
    return new RedisThrottleStore(connection, new CacheFaults(options), refusals);
  }
  if (typeof (cache as { getSentinelNode?: unknown }).getSentinelNode === 'function') {
    // It has get/set, but its writes fail: taken as a get/set cache it would let every request through.
    throw new ImproperlyConfiguredError(
      `The throttle cache '${options.name}' is a node-redis Sentinel client (createSentinel()), which the module cannot ` +
        "drive: give it an ioredis client with `sentinels` instead (docs/caches.md, 'Redis Sentinel').",
      'RFT_UNSUPPORTED_CLIENT',
    );
  }
  if (isGetSetCache(cache)) {
    warnIfSharedGetSetCache(cache, options.name, options.logger);
    // Asked every time: a get/set cache is often emptied by hand (`cache.reset()` in tests), which a refusal
    // remembered in process would outlive; its round trip is the cheap one anyway.
    return new CacheManagerStore(cache, new CacheFaults(options));
  }
  throw new ImproperlyConfiguredError(
    `The throttle cache '${options.name}' is neither a cache-manager cache (get/set), a Redis client ` +
      'nor a ThrottleStore (hit).',
    'RFT_INVALID_CACHE',
  );
}

function isThrottleStore(value: object): value is ThrottleStore {
  return typeof (value as Partial<ThrottleStore>).hit === 'function';
}

function isGetSetCache(value: object): value is ThrottleCache {
  const candidate = value as Partial<ThrottleCache>;
  return typeof candidate.get === 'function' && typeof candidate.set === 'function';
}
