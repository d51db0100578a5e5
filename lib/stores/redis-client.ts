/**
 * The part of an ioredis client (`Redis` or `Redis.Cluster`) the Redis store
 * uses, described structurally: ioredis is an optional peer (it comes with
 * `cache-manager-ioredis-yet`), so the library never imports it.
 */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  pipeline(): RedisScriptPipeline;
  /** `true` on `Redis.Cluster`, whose pipelines only take keys of one slot. */
  readonly isCluster?: boolean;
  /** ioredis' connection state: `'ready'`, `'reconnecting'`, `'end'`... */
  readonly status?: string;
}

/** An ioredis pipeline: commands queued, then written at once by `exec()`. */
export interface RedisScriptPipeline {
  evalsha(sha: string, numKeys: number, ...args: string[]): unknown;
  eval(script: string, numKeys: number, ...args: string[]): unknown;
  /** One `[error, reply]` per queued command, in order. */
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/**
 * The ioredis client behind a cache-manager cache, if there is one:
 * `cache-manager-ioredis-yet` exposes it as `cache.store.client` for both
 * `redisStore(...)` and `redisInsStore(client)`.
 */
export function redisClientOf(cache: { readonly store?: unknown }): RedisScriptClient | undefined {
  const store = cache.store;
  if (typeof store !== 'object' || store === null || !('client' in store)) return undefined;
  const client: unknown = store.client;
  return isRedisScriptClient(client) ? client : undefined;
}

function isRedisScriptClient(value: unknown): value is RedisScriptClient {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.evalsha === 'function' && typeof candidate.eval === 'function' && typeof candidate.pipeline === 'function';
}
