/**
 * Redis Cluster through every client library that supports it: each
 * command of a batch is routed by its key's slot (the keys of one batch
 * live on different masters), and answers come back in the batch's order.
 */
import KeyvRedis, { createCluster as createKeyvCluster } from '@keyv/redis';
import { Cluster as IoRedisCluster } from 'ioredis';
import { Cluster as IoValkeyCluster } from 'iovalkey';
import { Keyv } from 'keyv';
import { createCluster } from 'redis';
import { createCluster as createClusterV4 } from 'redis-v4';
import { createHash } from 'node:crypto';
import { findRedisConnection } from '../../lib/stores/redis/find-redis';
import type { RedisConnection } from '../../lib/stores/redis/redis-connection';
import { RedisCluster } from '../helpers/redis-cluster';

const SCRIPT = "return {KEYS[1], redis.call('INCR', KEYS[1])}";
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

interface Form {
  name: string;
  library: string;
  open(cluster: RedisCluster): Promise<{ cache: unknown; close(): unknown }>;
}

const forms: Form[] = [
  {
    name: 'a node-redis cluster given directly',
    library: 'node-redis',
    open: async (cluster) => {
      const client = await createCluster({
        rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
      })
        .on('error', () => undefined)
        .connect();
      return { cache: client, close: () => client.destroy() };
    },
  },
  {
    name: 'a node-redis 4 cluster given directly',
    library: 'node-redis',
    open: async (cluster) => {
      const client = createClusterV4({
        rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
      }).on('error', () => undefined);
      await client.connect();
      return { cache: client, close: () => client.disconnect() };
    },
  },
  {
    name: 'a Keyv on @keyv/redis over a node-redis cluster (connected lazily)',
    library: 'node-redis',
    open: async (cluster) => {
      // @keyv/redis re-exports the createCluster of the node-redis it is built on.
      const client = createKeyvCluster({
        rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
      }).on('error', () => undefined);
      const store = new KeyvRedis(client);
      return { cache: new Keyv({ store }).on('error', () => undefined), close: () => store.disconnect() };
    },
  },
  {
    name: 'an ioredis Cluster given directly',
    library: 'ioredis',
    open: async (cluster) => {
      const client = new IoRedisCluster(cluster.nodes).on('error', () => undefined);
      return { cache: client, close: () => client.disconnect() };
    },
  },
  {
    name: 'an iovalkey Cluster given directly',
    library: 'ioredis',
    open: async (cluster) => {
      const client = new IoValkeyCluster(cluster.nodes).on('error', () => undefined);
      return { cache: client, close: () => client.disconnect() };
    },
  },
];

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start(3);
}, 60_000);
afterAll(() => cluster?.dispose());

describe.each(forms)('$name', (form) => {
  let opened: Awaited<ReturnType<Form['open']>>;
  let connection: RedisConnection;
  beforeAll(async () => {
    opened = await form.open(cluster);
    connection = findRedisConnection(opened.cache) as RedisConnection;
  });
  afterAll(() => opened?.close());

  it('routes each command of a batch by its key, answers in order, NOSCRIPT per node as an entry', async () => {
    expect(connection).toBeDefined();
    expect(connection.library).toBe(form.library);
    expect(connection.cluster).toBe(true);
    // 30 keys: with 16384 slots over 3 masters, every master owns some of them.
    const keys = Array.from({ length: 30 }, (_, i) => `cluster:${form.library}:${form.name.length}:${i}`);
    for (const server of cluster.servers) await server.command('SCRIPT', 'FLUSH');
    const missing = await connection.send(keys.map((key) => ['EVALSHA', SHA, '1', key]));
    expect(missing.every((reply) => reply instanceof Error && /^NOSCRIPT/.test(reply.message))).toBe(true);
    const loaded = await connection.send(keys.map((key) => ['EVAL', SCRIPT, '1', key]));
    expect(loaded).toEqual(keys.map((key) => [key, 1]));
    const again = await connection.send(keys.map((key) => ['EVALSHA', SHA, '1', key]));
    expect(again).toEqual(keys.map((key) => [key, 2]));
    // Each master ran its own keys: the script got loaded on all three.
    const loadedOn = await Promise.all(cluster.servers.map((server) => server.command('SCRIPT', 'EXISTS', SHA)));
    expect(loadedOn).toEqual(cluster.servers.map(() => [1]));
  });
});
