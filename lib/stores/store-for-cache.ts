import type { Logger } from '@nestjs/common';
import type { CacheErrorPolicy, ThrottleCache } from '../restflow-throttle.options';
import { CacheManagerStore } from './cache-manager.store';
import { FaultTolerantStore } from './fault-tolerant.store';
import { MemoryThrottleStore } from './memory.store';
import type { ThrottleStore } from './throttle-store';

export interface StoreOptions {
  name: string;
  policy: CacheErrorPolicy;
  timeoutMs: number;
  logger: Logger;
}

/**
 * Picks the fastest correct store for a cache: the in-process memory store
 * is used directly (synchronous, cannot fail); anything remote gets the
 * deadline and failure policy of `FaultTolerantStore`.
 */
export function storeForCache(cache: ThrottleCache, options: StoreOptions): ThrottleStore {
  if (cache.store instanceof MemoryThrottleStore) return cache.store;
  return new FaultTolerantStore(new CacheManagerStore(cache), options);
}
