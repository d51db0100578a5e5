/**
 * What the Redis store needs from a Redis client, whatever the library
 * (ioredis, node-redis, iovalkey) and however the app holds it (the client
 * itself, a cache-manager 5 store, a Keyv store, Nest's `CACHE_MANAGER`).
 * Adapters in `clients/` turn each form into this; the store never imports
 * a Redis library.
 */
export interface RedisConnection {
  /** A name for log lines: `ioredis`, `node-redis`, `iovalkey`... */
  readonly library: string;
  /** `true` for a Cluster client: each command is routed by its key's slot. */
  readonly cluster: boolean;
  /** `false` while the client knows the server is unreachable (reconnecting, closed). */
  isReady(): boolean;
  /**
   * Writes every command at once (one pipeline, or one tick of an
   * auto-pipelining client; per slot on a Cluster) and answers one entry per
   * command, in order: the reply, or the `Error` Redis answered for it. The
   * promise rejects only when the connection itself failed.
   */
  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]>;
  /**
   * On a Cluster, the master (`host:port`) the client sends `slot`'s
   * commands to now, read from the client's own slot map each time, so
   * that a MOVED or a failover the client has learnt is followed at once;
   * `undefined` while the client does not know (before its first slot map),
   * and always for a single server.
   */
  masterOf(slot: number): string | undefined;
  /** On a Cluster, every master (`host:port`) serving a slot in the client's slot map now; none for a single server. */
  masters(): string[];
}
