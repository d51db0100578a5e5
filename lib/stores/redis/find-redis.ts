/** Finds the Redis client behind whatever cache the app configured, so every form gets the atomic Lua path. */
import type { LoggerService } from '@nestjs/common';
import { ioredisConnectionOf } from './clients/ioredis';
import { isInProcessStore, keyvStoreConnection, keyvStoresOf } from './clients/keyv';
import { isNodeRedisClient, NodeRedisConnection } from './clients/node-redis';
import type { RedisConnection } from './redis-connection';

/**
 * The Redis behind a cache, in whatever form the app holds it, so that every
 * form gets the same atomic Lua path:
 *
 * - a client given directly: ioredis or iovalkey (`Redis`, `Cluster`),
 *   node-redis (`createClient()`, `createCluster()`);
 * - a cache-manager 5 cache whose store exposes its client as `store.client`
 *   (`cache-manager-ioredis-yet`, and node-redis based stores);
 * - a Keyv instance, or a cache-manager 6/7 cache such as Nest's
 *   `CACHE_MANAGER`, over `@keyv/redis` (node-redis) or `@keyv/valkey`
 *   (iovalkey). A tiered cache is driven through its first Redis tier.
 *
 * Only structural checks: no Redis library is imported, they are all
 * optional peers. `undefined` when no Redis client can be reached.
 */
export function findRedisConnection(cacheOrClient: unknown): RedisConnection | undefined {
  const direct = clientConnection(cacheOrClient);
  if (direct !== undefined) return direct;
  const keyvStores = keyvStoresOf(cacheOrClient);
  if (keyvStores !== undefined) {
    for (const store of keyvStores) {
      const connection = keyvStoreConnection(store);
      if (connection !== undefined) return connection;
    }
    return undefined;
  }
  // A cache-manager 5 cache on a node-redis based store (cache-manager-redis-yet).
  if (typeof cacheOrClient === 'object' && cacheOrClient !== null && 'store' in cacheOrClient) {
    const store: unknown = cacheOrClient.store;
    if (typeof store === 'object' && store !== null && 'client' in store && isNodeRedisClient(store.client))
      return new NodeRedisConnection(store.client);
  }
  return undefined;
}

/**
 * The name of a cache's store (`Keyv store KeyvPostgres`, `cache-manager store "memcached"`) when the
 * cache is shared between processes yet can only be driven through get/set (memcached, a database, a
 * Keyv store we do not know, a Redis store whose client cannot be reached): on it, each process keeps
 * the limit exactly for itself only, so N processes may admit up to N times the limit. `undefined`
 * for any other cache: in-process ones (Keyv's default `Map`, cache-manager's memory store, an LRU)
 * are not shared, a cache whose Redis client we drive atomically is exact, and a plain `{ get, set }`
 * object tells nothing about where it keeps its data, so it is not reported.
 */
export function sharedGetSetStoreName(cache: unknown): string | undefined {
  if (findRedisConnection(cache) !== undefined) return undefined;
  const keyvStores = keyvStoresOf(cache);
  if (keyvStores !== undefined) {
    const shared = keyvStores.find((store) => !isInProcessStore(store));
    return shared === undefined ? undefined : `Keyv store ${nameOf(shared)}`;
  }
  if (typeof cache !== 'object' || cache === null || !('store' in cache)) return undefined;
  const store: unknown = cache.store;
  // cache-manager 5's memory store counts its LRU's entries in `size`, as a Map does.
  if (typeof store !== 'object' || store === null || isInProcessStore(store)) return undefined;
  return `cache-manager store ${nameOf(store)}`;
}

/**
 * The startup warning for a cache {@link sharedGetSetStoreName} names,
 * naming the cache (its alias) and its store; nothing for any other cache.
 * Without it, a user who gave a shared cache would believe the limit holds
 * across processes.
 */
export function warnIfSharedGetSetCache(cache: unknown, name: string, logger: Pick<LoggerService, 'warn'>): void {
  const store = sharedGetSetStoreName(cache);
  if (store === undefined) return;
  logger.warn(
    `Throttle cache '${name}' (${store}) is shared between processes but only offers get/set: each process counts on its own, ` +
      'so the limits hold per process only. Give the module a Redis client for one exact limit across processes (docs/caches.md).',
  );
}

/** A Redis client given directly, or a cache-manager 5 cache on an ioredis client. */
function clientConnection(value: unknown): RedisConnection | undefined {
  if (isNodeRedisClient(value)) return new NodeRedisConnection(value);
  return ioredisConnectionOf(value);
}

function nameOf(store: unknown): string {
  if (typeof store === 'object' && store !== null) {
    if ('name' in store && typeof store.name === 'string' && store.name !== '') return `"${store.name}"`;
    const constructorName = (store as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof constructorName === 'string' && constructorName !== 'Object') return constructorName;
  }
  return '(unnamed)';
}
