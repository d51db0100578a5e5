import type { Logger } from '@nestjs/common';
import type { CacheErrorPolicy, ThrottleCache } from '../restflow-throttle.options';
import { CacheManagerStore } from './cache-manager.store';
import { FaultTolerantStore } from './fault-tolerant.store';
import { MemoryThrottleStore } from './memory.store';
import { redisClientOf } from './redis-client';
import { RedisThrottleStore } from './redis.store';
import type { ThrottleStore } from './throttle-store';

export interface StoreOptions {
  name: string;
  policy: CacheErrorPolicy;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Picks the fastest correct store for a cache: the in-process memory store
 * is used directly (synchronous, cannot fail); a cache with an ioredis
 * client behind it (`cache-manager-ioredis-yet`) gets the atomic Lua store;
 * any other cache goes through its get/set. Remote stores get the deadline
 * and failure policy of `FaultTolerantStore`.
 */
export function storeForCache(cache: ThrottleCache, options: StoreOptions): ThrottleStore {
  if (cache.store instanceof MemoryThrottleStore) return cache.store;
  const redis = redisClientOf(cache);
  if (redis !== undefined) return new FaultTolerantStore(new RedisThrottleStore(redis), options);
  return new FaultTolerantStore(new CacheManagerStore(cache, options.timeoutMs), options);
}
