/** The behavioural suite on Redis; test/contract/store-contract.spec.ts runs it on the in-process caches. */
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import { RedisServer } from '../helpers/redis-server';
import { describeStoreContract } from '../helpers/store-contract';

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
