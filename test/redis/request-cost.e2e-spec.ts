/**
 * Request costs on Redis (a node-redis client given directly: the Lua store), on Express and Fastify: the
 * scenarios of test/helpers/costs-and-blocks/request-cost.ts, as on the memory and get/set stores.
 */
import { createClient } from 'redis';
import { describeRequestCost } from '../helpers/costs-and-blocks/request-cost';
import { RedisServer } from '../helpers/redis-server';

describeRequestCost('Redis (node-redis)', async () => {
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
