/**
 * An ioredis or iovalkey client, `new Redis(...)` or `new Cluster(...)`,
 * described by the members that tell it apart (no Redis library is imported:
 * they are optional peers).
 */
export interface IoredisLikeClient {
  pipeline(): unknown;
  call(...args: never[]): unknown;
  /** The connection state: `'ready'`, `'reconnecting'`, `'end'`... */
  readonly status: string;
}

/** A node-redis client, `createClient(...)` or `createCluster(...)`, connected by the app. */
export interface NodeRedisLikeClient {
  sendCommand(...args: never[]): Promise<unknown>;
  readonly isOpen: boolean;
}

/**
 * A Redis client the module can be given directly as a cache: it then runs
 * every check-and-record as one Lua script on the server (the recommended
 * way to use Redis; see docs/caches.md).
 */
export type RedisClientLike = IoredisLikeClient | NodeRedisLikeClient;
