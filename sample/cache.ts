import { caching, createCache, type Cache } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';

/** The caches the sample hands to `RestflowThrottleModule`. */
export interface SampleCaches {
  /** The default cache; `undefined` lets the module build its bounded in-memory one. */
  readonly cache?: Cache;
  /** Named caches (DRF's `caches[...]`); `throttling` holds `IsolatedThrottle`'s counters. */
  readonly caches: { readonly throttling: Cache };
  /** Closes the connections these caches opened (none in memory). */
  close(): Promise<void>;
}

/**
 * In memory by default: one process, counters lost on restart. With a Redis
 * URL every cache is a `cache-manager-ioredis-yet` cache, so all processes
 * share the counters and the throttles run their check as one Redis script.
 */
export async function sampleCaches(redisUrl?: string): Promise<SampleCaches> {
  if (!redisUrl) {
    // Any cache-manager cache works as an alias; this one is cache-manager's own LRU memory store.
    return { caches: { throttling: await caching('memory', { max: 100_000, ttl: 0 }) }, close: async () => undefined };
  }
  const clients = [new Redis(redisUrl), new Redis(redisUrl)];
  // The throttle module logs cache outages itself; without a listener ioredis would print each retry.
  for (const client of clients) client.on('error', () => undefined);
  const [main, throttling] = clients.map((client) => createCache(redisInsStore(client)));
  return {
    cache: main,
    // Its own connection here; point it at another Redis to isolate throttling load from the app's cache.
    caches: { throttling },
    close: async () => {
      await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}
