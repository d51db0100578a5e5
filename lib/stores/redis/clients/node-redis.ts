/** The node-redis adapter: `createClient()` and `createCluster()` clients as the store's `RedisConnection`. */
import type { RedisConnection } from '../redis-connection';

/**
 * A node-redis client (`createClient()` of the `redis` / `@redis/client`
 * packages, v4 and later), described structurally: node-redis is an
 * optional peer, so the library never imports it. Part of the public
 * {@link RedisClientLike}, so it must fit every version as it comes:
 * `sendCommand`'s parameters differ between versions (v5 takes
 * `CommandArguments`, not a `string[]`), so they are left open here and
 * the adapter calls it as {@link ClientSend}.
 */
export interface NodeRedisClientLike {
  sendCommand(...args: never[]): Promise<unknown>;
  /** `true` from `connect()` until `close()`/`destroy()`, reconnections included. */
  readonly isOpen: boolean;
  /** `true` while the socket is connected and usable. */
  readonly isReady: boolean;
}

/** A node of a node-redis Cluster's slot map, as the Cluster announced it. */
interface NodeRedisNodeLike {
  readonly host: string;
  readonly port: number;
}

/**
 * A node-redis Cluster (`createCluster()`): each command is routed by the key it names first. Its
 * `sendCommand` is called as {@link ClusterSend} (left open here for the reason given on
 * {@link NodeRedisClientLike}).
 */
export interface NodeRedisClusterLike {
  sendCommand(...args: never[]): Promise<unknown>;
  readonly isOpen: boolean;
  /** Absent before node-redis 6. */
  readonly isReady?: boolean;
  getSlotMaster(slot: number): unknown;
  /** The slot map (v4 and later): per slot, its shard; empty until connected, rebuilt on MOVED and failovers. */
  readonly slots?: ReadonlyArray<{ readonly master?: NodeRedisNodeLike } | undefined>;
  /** The masters of the slot map. */
  readonly masters?: readonly NodeRedisNodeLike[];
}

/** How every node-redis version (v4 on) takes a command on a client: its words, all strings here. */
type ClientSend = (args: string[]) => Promise<unknown>;
/** ... and on a Cluster: the key that routes it (`undefined`: any node), whether it only reads, its words. */
type ClusterSend = (firstKey: string | undefined, isReadonly: boolean, args: string[]) => Promise<unknown>;

/**
 * A node-redis client or cluster as a {@link RedisConnection}. node-redis
 * writes every command issued in the same tick in one go (auto-pipelining),
 * so sending the batch's commands one after another in one tick is one
 * write, one round trip; on a Cluster, one write per node.
 *
 * `connect` is how a client that is not connected yet gets connected (the
 * Keyv store's `getClient()`, which connects lazily); a client the app
 * handed over itself is the app's to connect, as node-redis requires.
 */
export class NodeRedisConnection implements RedisConnection {
  readonly library = 'node-redis';
  readonly cluster: boolean;
  private connecting?: Promise<unknown>;
  /** Once open, a client that is closed again was closed by the app: it is not reopened behind its back. */
  private wasOpen = false;

  constructor(
    private readonly client: NodeRedisClientLike | NodeRedisClusterLike,
    private readonly connect?: () => Promise<unknown>,
  ) {
    this.cluster = isNodeRedisCluster(client);
  }

  isReady(): boolean {
    // Sends made while our own first connect is under way wait for it.
    if (this.connecting !== undefined) return true;
    if (this.client.isOpen) {
      this.wasOpen = true;
      return this.client.isReady ?? true;
    }
    // A lazily connected client is not open yet: the first sends connect it, and wait for that.
    return this.connect !== undefined && !this.wasOpen;
  }

  masterOf(slot: number): string | undefined {
    const client = this.client;
    if (!isNodeRedisCluster(client)) return undefined;
    const master = client.slots?.[slot]?.master;
    return master === undefined ? undefined : `${master.host}:${master.port}`;
  }

  masters(): string[] {
    const client = this.client;
    if (!isNodeRedisCluster(client)) return [];
    return (client.masters ?? []).map((master) => `${master.host}:${master.port}`);
  }

  async send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    if (this.client.isOpen) this.wasOpen = true;
    else if (this.connect !== undefined && !this.wasOpen) {
      this.connecting ??= this.connect().finally(() => {
        this.connecting = undefined;
        this.wasOpen ||= this.client.isOpen;
      });
    }
    // Batches made while the first connect is under way go out after it, in order.
    if (this.connecting !== undefined) await this.connecting;
    const client = this.client;
    let sent: Array<Promise<unknown>>;
    if (isNodeRedisCluster(client)) {
      const send = client.sendCommand as unknown as ClusterSend;
      sent = commands.map((command) => send.call(client, firstKeyOf(command), false, [...command]));
    } else {
      const send = client.sendCommand as unknown as ClientSend;
      sent = commands.map((command) => send.call(client, [...command]));
    }
    const settled = await Promise.allSettled(sent);
    return settled.map((outcome) => {
      if (outcome.status === 'fulfilled') return outcome.value;
      // An error Redis answered is that command's reply; anything else means the connection failed.
      if (isErrorReply(outcome.reason)) return outcome.reason;
      throw outcome.reason;
    });
  }
}

/**
 * A node-redis client or cluster, told apart from ioredis (which has
 * `pipeline()` and a `status`). A Sentinel client (`createSentinel()`,
 * whose `sendCommand` takes other arguments) is not one: its caches go
 * through get/set, with the shared-cache warning.
 */
export function isNodeRedisClient(value: unknown): value is NodeRedisClientLike | NodeRedisClusterLike {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  if (typeof candidate.pipeline === 'function' || typeof candidate.getSentinelNode === 'function') return false;
  return typeof candidate.sendCommand === 'function' && typeof candidate.isOpen === 'boolean';
}

function isNodeRedisCluster(client: NodeRedisClientLike | NodeRedisClusterLike): client is NodeRedisClusterLike {
  return typeof (client as Partial<NodeRedisClusterLike>).getSlotMaster === 'function';
}

/**
 * The key a command is routed by on a Cluster: for EVAL/EVALSHA/FCALL the
 * first of their `numkeys` keys; a keyless command (`SCRIPT`, `TIME`) goes
 * to any node; otherwise the first argument.
 */
function firstKeyOf(command: readonly string[]): string | undefined {
  const name = command[0].toUpperCase();
  if (name.startsWith('EVAL') || name.startsWith('FCALL')) return Number(command[2]) > 0 ? command[3] : undefined;
  if (name === 'SCRIPT' || name === 'TIME') return undefined;
  return command[1];
}

/**
 * node-redis answers a Redis error as an `ErrorReply` (v4 and later; `SimpleError`
 * and `BlobError` extend it in v5). Without importing node-redis, the class is
 * recognised by name along the prototype chain.
 */
function isErrorReply(error: unknown): error is Error {
  for (let proto: unknown = error; proto !== null && typeof proto === 'object'; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: string } }).constructor?.name === 'ErrorReply') return true;
  }
  return false;
}
