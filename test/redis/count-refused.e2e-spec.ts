/**
 * `countRefused` on Redis, on Express and Fastify: the scenarios of test/helpers/costs-and-blocks/count-refused.ts
 * (a request refused by one throttle counted by none: one Lua script decides the request's hits all or none), on
 * an ioredis client and on a cache-manager 5 cache over one, as on the memory and get/set stores.
 */
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import { describeCountRefused } from '../helpers/costs-and-blocks/count-refused';
import { RedisServer } from '../helpers/redis-server';

describeCountRefused('Redis (ioredis)', async () => {
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

describeCountRefused('Redis (cache-manager-ioredis-yet)', async () => {
  const server = await RedisServer.start();
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  return {
    cache: await caching(redisInsStore(client)),
    close: async () => {
      client.disconnect();
      await server.dispose();
    },
  };
});
