/**
 * `blockDuration` on Redis (an ioredis client given directly: the Lua store), on Express and Fastify: the
 * scenarios of test/helpers/costs-and-blocks/block-duration.ts, as on the memory and get/set stores.
 */
import { Redis } from 'ioredis';
import { describeBlockDuration } from '../helpers/costs-and-blocks/block-duration';
import { RedisServer } from '../helpers/redis-server';

describeBlockDuration('Redis (ioredis)', async () => {
  const server = await RedisServer.start();
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  return {
    cache: client,
    close: async () => {
      client.disconnect();
      await server.dispose();
    },
  };
});
