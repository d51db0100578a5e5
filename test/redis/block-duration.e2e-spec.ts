/**
 * `blockDuration` (issue 21 item 4) on Redis, given as an ioredis client, on Express and Fastify: the scenarios of
 * test/helpers/costs-and-blocks/block-duration.ts, which test/e2e/costs-and-blocks/ runs on the memory store and a get/set
 * cache. The module's clock drives Redis too, so the waits are exact.
 */
import { Redis } from 'ioredis';
import { describeBlockDuration } from '../helpers/costs-and-blocks/block-duration';
import { RedisServer } from '../helpers/redis-server';

describeBlockDuration('Redis (ioredis client)', async () => {
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
