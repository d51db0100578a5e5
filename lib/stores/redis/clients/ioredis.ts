/** The ioredis (and iovalkey) adapter: a `Redis` or `Cluster` client as the store's `RedisConnection`. */
import type { RedisConnection } from '../redis-connection';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the adapter uses,
 * described structurally: ioredis is an optional peer (it comes with
 * `cache-manager-ioredis-yet`), so the library never imports it.
 */
export interface IoredisLike {
  call(command: string, args: string[]): Promise<unknown>;
  pipeline(): IoredisPipelineLike;
  /** ioredis' connection state: `'ready'`, `'reconnecting'`, `'end'`... */
  readonly status: string;
  /** `true` on a `Cluster`, whose pipelines only take keys of one slot. */
  readonly isCluster?: boolean;
  /** A `Cluster`'s slot map: per slot, the `host:port` of its master then of its replicas (empty until connected). */
  readonly slots?: ReadonlyArray<readonly string[] | undefined>;
}

/** An ioredis pipeline: commands queued, then written at once by `exec()`. */
export interface IoredisPipelineLike {
  call(command: string, args: string[]): unknown;
  /** One `[error, reply]` per queued command, in order. */
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

/**
 * States in which ioredis already knows the server is gone: a command sent
 * then would wait in its offline queue, so the store answers at once instead.
 */
const DISCONNECTED: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/**
 * An ioredis client as a {@link RedisConnection}. A single server gets one
 * pipeline per batch (one write, one round trip); a Cluster gets each
 * command on its own, all in the same tick, routed by its key's slot (its
 * pipelines only accept keys of one slot, and the keys of one request, one
 * per scope, live on different slots anyway).
 */
export class IoredisConnection implements RedisConnection {
  readonly library = 'ioredis';
  readonly cluster: boolean;

  constructor(private readonly client: IoredisLike) {
    this.cluster = client.isCluster === true;
  }

  isReady(): boolean {
    const status = this.client.status;
    return status === 'ready' || !DISCONNECTED.has(status);
  }

  masterOf(slot: number): string | undefined {
    return this.cluster ? this.client.slots?.[slot]?.[0] : undefined;
  }

  masters(): string[] {
    const slots = this.cluster ? this.client.slots : undefined;
    if (slots === undefined) return [];
    const masters = new Set<string>();
    for (let slot = 0; slot < slots.length; slot++) {
      const master = slots[slot]?.[0];
      if (master !== undefined) masters.add(master);
    }
    return [...masters];
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    if (this.cluster)
      return Promise.all(commands.map((command) => this.client.call(command[0], command.slice(1)).catch(asReply)));
    // A lone command skips the Pipeline object, which costs about 25 µs of CPU: the same single write.
    if (commands.length === 1)
      return this.client.call(commands[0][0], commands[0].slice(1)).then(
        (reply) => [reply],
        (error: unknown) => [replyErrorOnly(error)],
      );
    const pipeline = this.client.pipeline();
    for (const command of commands) pipeline.call(command[0], command.slice(1));
    return pipeline.exec().then((replies) => {
      if (replies === null || replies.length !== commands.length) {
        throw new Error(
          `Redis answered ${replies === null ? 'nothing' : replies.length} of ${commands.length} pipelined commands`,
        );
      }
      const answers = new Array<unknown>(replies.length);
      for (let i = 0; i < replies.length; i++) answers[i] = replies[i][0] ?? replies[i][1];
      return answers;
    });
  }
}

/** An error Redis answered for one command is that command's reply; a connection failure fails the batch. */
function replyErrorOnly(error: unknown): Error {
  if (error instanceof Error && error.name === 'ReplyError') return error;
  throw error;
}

function asReply(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * The ioredis client in `cacheOrClient`, if there is one: the client itself,
 * or the one behind a cache-manager 5 cache on `cache-manager-ioredis-yet`
 * (`cache.store.client`, for both `redisStore(...)` and `redisInsStore(client)`).
 */
export function ioredisClientOf(cacheOrClient: unknown): IoredisLike | undefined {
  if (isIoredis(cacheOrClient)) return cacheOrClient;
  if (typeof cacheOrClient !== 'object' || cacheOrClient === null || !('store' in cacheOrClient)) return undefined;
  const store: unknown = cacheOrClient.store;
  if (typeof store !== 'object' || store === null || !('client' in store)) return undefined;
  return isIoredis(store.client) ? store.client : undefined;
}

/** A {@link RedisConnection} for an ioredis client or a cache-manager 5 cache on one. */
export function ioredisConnectionOf(cacheOrClient: unknown): RedisConnection | undefined {
  const client = ioredisClientOf(cacheOrClient);
  return client === undefined ? undefined : new IoredisConnection(client);
}

function isIoredis(value: unknown): value is IoredisLike {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.call === 'function' &&
    typeof candidate.pipeline === 'function' &&
    typeof candidate.status === 'string'
  );
}
