/**
 * The Keyv adapter: the Redis client behind a Keyv store (`@keyv/redis`, `@keyv/valkey`), and Keyv's in-process
 * stores.
 */
import { ioredisConnectionOf } from './ioredis';
import type { RedisConnection } from '../redis-connection';
import { isNodeRedisClient, NodeRedisConnection } from './node-redis';

/**
 * The Keyv store adapters behind a cache, outermost first: those of a Keyv
 * instance (`keyv.store`) or of a cache-manager 6/7 cache, which is Nest's
 * `CACHE_MANAGER` (`cache.stores`, one Keyv per tier). `undefined` when the
 * cache is not Keyv-based. Structural, as Keyv and cache-manager are optional.
 */
export function keyvStoresOf(cache: unknown): unknown[] | undefined {
  if (isKeyv(cache)) return [cache.store];
  if (typeof cache !== 'object' || cache === null || !('stores' in cache) || !Array.isArray(cache.stores))
    return undefined;
  const tiers: unknown[] = cache.stores;
  return tiers.every(isKeyv) ? tiers.map((keyv) => keyv.store) : undefined;
}

/**
 * A connection to the Redis behind a Keyv store, when the store's client
 * can be driven: `@keyv/redis` (a node-redis client as `store.client`,
 * connected lazily by `store.getClient()`) and `@keyv/valkey` (an iovalkey
 * client as `store.redis`, driven by the ioredis adapter: iovalkey is
 * ioredis' API under another name).
 */
export function keyvStoreConnection(store: unknown): RedisConnection | undefined {
  if (typeof store !== 'object' || store === null) return undefined;
  const adapter = store as { client?: unknown; redis?: unknown; getClient?: unknown };
  if (isNodeRedisClient(adapter.client)) {
    const getClient = adapter.getClient;
    const connect = typeof getClient === 'function' ? () => Promise.resolve(getClient.call(store)) : undefined;
    return new NodeRedisConnection(adapter.client, connect);
  }
  if (adapter.redis !== undefined) {
    const connection = ioredisConnectionOf(adapter.redis);
    return connection === undefined ? undefined : renamed(connection, 'iovalkey');
  }
  return undefined;
}

/**
 * Whether a Keyv store keeps its data in this process: a `Map` (Keyv's
 * default, and what cache-manager 7 and Nest's `CacheModule` use when given
 * no store) or a Map-like LRU such as cacheable's `CacheableMemory`, which
 * all count their entries in a numeric `size`. Stores that talk to a server
 * or a file (Redis, memcached, databases) keep no such count.
 */
export function isInProcessStore(store: unknown): boolean {
  if (store instanceof Map) return true;
  return typeof store === 'object' && store !== null && 'size' in store && typeof store.size === 'number';
}

/** A Keyv instance: its `store` adapter and the `opts` it was built with. */
function isKeyv(value: unknown): value is { store: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    'store' in candidate &&
    typeof candidate.opts === 'object' &&
    typeof candidate.get === 'function' &&
    typeof candidate.set === 'function'
  );
}

/** The same connection under the library's own name, for log lines. */
function renamed(connection: RedisConnection, library: string): RedisConnection {
  return {
    library,
    cluster: connection.cluster,
    isReady: () => connection.isReady(),
    send: (commands) => connection.send(commands),
    masterOf: (slot) => connection.masterOf(slot),
    masters: () => connection.masters(),
  };
}
