/** The shared behavioural suite on a local 3-master Redis Cluster: every script touches one key. */
import { caching } from 'cache-manager';
import { redisStore } from 'cache-manager-ioredis-yet';
import { RedisCluster } from '../helpers/redis-cluster';
import { describeStoreContract } from '../helpers/store-contract';

describeStoreContract('Redis Cluster, 3 masters (redisStore clusterConfig)', async () => {
  const cluster = await RedisCluster.start(3);
  const store = await redisStore({ clusterConfig: { nodes: cluster.nodes } });
  return {
    cache: await caching(store),
    close: async () => {
      await store.client.quit();
      await cluster.dispose();
    },
  };
});
