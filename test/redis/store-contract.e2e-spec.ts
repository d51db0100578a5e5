/** One behavioural suite, four caches: the Redis path must count exactly like the memory path. */
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import { RedisServer } from '../helpers/redis-server';
import { describeStoreContract } from '../helpers/store-contract';

describeStoreContract('the default in-memory cache', async () => ({}));

describeStoreContract("cache-manager's memory cache (get/set)", async () => ({
  cache: await caching('memory', { max: 10_000, ttl: 0 }),
}));

describeStoreContract('Redis (redisInsStore, Lua script)', async () => {
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
