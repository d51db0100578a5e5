/**
 * One behavioural suite (test/helpers/store-contract.ts), run here on the caches that live in this process;
 * test/redis/store-contract*.e2e-spec.ts run it on Redis and Redis Cluster: the Redis path must count exactly like
 * the memory path.
 */
import { caching } from 'cache-manager';
import { describeStoreContract } from '../helpers/store-contract';

describeStoreContract('the default in-memory cache', async () => ({}));

describeStoreContract("cache-manager's memory cache (get/set)", async () => ({
  cache: await caching('memory', { max: 10_000, ttl: 0 }),
}));
