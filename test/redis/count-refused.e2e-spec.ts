/**
 * `countRefused: false` (issue 21 item 2; one Lua script decides a request's hits all or none) on Redis, given as an
 * ioredis client and as a cache-manager 5 cache over one, on Express and Fastify: the scenarios of
 * test/helpers/costs-and-blocks/count-refused.ts, which test/e2e/costs-and-blocks/ runs on the memory store and a get/set
 * cache. The module's clock drives Redis too, so the waits are exact.
 */
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import { describeCountRefused } from '../helpers/costs-and-blocks/count-refused';
import { RedisServer } from '../helpers/redis-server';

describeCountRefused('Redis (ioredis client)', async () => {
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

describeCountRefused('Redis (cache-manager-ioredis-yet)', async () => {
  const server = await RedisServer.start();
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  return {
    cache: await caching(redisInsStore(client)),
    close: async () => {
      await client.quit();
      await server.dispose();
    },
  };
});
