/**
 * Exactly the limit across 4 processes, for every Redis client family: 400
 * concurrent requests from one client spread over 4 Node processes, limit
 * 100 per minute, admit 100 between them. Each family runs its own check
 * and record as one Lua script on the server; a get/set fallback (the old
 * behaviour of Keyv caches) would admit more than 100.
 */
import { RedisCluster } from '../helpers/redis-cluster';
import { RedisServer } from '../helpers/redis-server';
import { CLIENT_FAMILIES, runClientFamily } from '../helpers/processes/clients-multi-process';

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.dispose());

it.each(CLIENT_FAMILIES)(
  '%s: the 4 processes admit exactly 100 of 400 between them',
  async (client) => {
    const before = await server.commandCalls();
    const result = await runClientFamily({
      client,
      redisUrl: server.url,
      processes: 4,
      requests: 400,
      rate: '100/min',
    });
    expect(result.statuses).toEqual({ 200: 100, 429: 300 });
    // Decided by the Lua script on the server, one per batch of requests (each process's first one may be an EVAL), never by get/set.
    const after = await server.commandCalls();
    const calls = (command: string) => (after.get(command) ?? 0) - (before.get(command) ?? 0);
    expect(calls('evalsha') + calls('eval')).toBeGreaterThanOrEqual(4);
    expect(calls('get') + calls('set')).toBe(0);
  },
  120_000,
);

it('node-redis on a 3-master Cluster: the 4 processes admit exactly 100 of 400', async () => {
  const cluster = await RedisCluster.start(3);
  try {
    const [node] = cluster.nodes;
    const result = await runClientFamily({
      client: 'node-redis-cluster',
      redisUrl: `redis://${node.host}:${node.port}`,
      requests: 400,
    });
    expect(result.statuses).toEqual({ 200: 100, 429: 300 });
  } finally {
    await cluster.dispose();
  }
}, 120_000);

it('Nest CacheModule on @keyv/redis, served by Fastify: exactly 100 of 400 too', async () => {
  const result = await runClientFamily({ client: 'nest-keyv-redis', redisUrl: server.url, platform: 'fastify' });
  expect(result.statuses).toEqual({ 200: 100, 429: 300 });
}, 120_000);
