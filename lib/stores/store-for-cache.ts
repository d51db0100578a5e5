import type { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { CacheErrorPolicy, ThrottleCache } from '../module/options';
import { CacheFaults } from './cache-faults';
import { CacheManagerStore } from './get-set/cache-manager.store';
import { findRedisConnection, warnIfSharedGetSetCache } from './redis/find-redis';
import { RedisThrottleStore } from './redis/redis.store';
import type { ThrottleStore } from './throttle-store';

export interface StoreOptions {
  name: string;
  policy: CacheErrorPolicy;
  timeoutMs: number;
  logger: Logger;
  /** Outage start (`'down'`) and end (`'up'`) of this cache, for the module's events. */
  onOutage?: (state: 'down' | 'up', reason?: string) => void;
}

/**
 * Picks the fastest correct store for what the app configured: a
 * {@link ThrottleStore} (the default memory store, or the app's own) is used
 * as it is; a Redis client, or a cache with one behind it, gets the atomic
 * Lua store; any other cache goes through its get/set. Each remote store
 * gets its own {@link CacheFaults}: the deadline, the `onCacheError` policy
 * and the outage warnings of that cache.
 */
export function storeForCache(cache: object, options: StoreOptions): ThrottleStore {
  if (isThrottleStore(cache)) return cache;
  const connection = findRedisConnection(cache);
  if (connection !== undefined) return new RedisThrottleStore(connection, new CacheFaults(options));
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
