/**
 * Weighted requests (issue 23 item 4) on Redis, given as an ioredis client and as a node-redis client, on Express and
 * Fastify: the scenarios of test/helpers/costs-and-blocks/request-cost.ts, which test/e2e/costs-and-blocks/ runs on the
 * memory store and a get/set cache. The module's clock drives Redis too, so the waits are exact.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describeRequestCost } from '../helpers/costs-and-blocks/request-cost';
import { RedisServer } from '../helpers/redis-server';

describeRequestCost('Redis (ioredis client)', async () => {
  const server = await RedisServer.start();
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  return {
    cache: client,
    close: async () => {
      await client.quit();
      await server.dispose();
    },
  };
});

describeRequestCost('Redis (node-redis client)', async () => {
  const server = await RedisServer.start();
  const client = await createClient({ url: server.url })
    .on('error', () => undefined)
    .connect();
  return {
    cache: client,
    close: async () => {
      client.destroy();
      await server.dispose();
    },
  };
});
