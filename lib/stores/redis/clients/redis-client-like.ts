/**
 * The Redis clients the module can be given directly as a cache: it then
 * runs every check-and-record as one Lua script on the server (the
 * recommended way to use Redis; see docs/caches.md). Each member is the
 * shape its adapter drives (clients/ioredis.ts, clients/node-redis.ts), so
 * what the type accepts and what the module can drive are one definition.
 */
import type { IoredisLike } from './ioredis';
import type { NodeRedisClientLike, NodeRedisClusterLike } from './node-redis';

/**
 * An ioredis or iovalkey client (`new Redis()`, `new Cluster()`), or a
 * node-redis client or cluster (`createClient()`, `createCluster()`, v4 and
 * later), connected by the app.
 */
export type RedisClientLike = IoredisLike | NodeRedisClientLike | NodeRedisClusterLike;
