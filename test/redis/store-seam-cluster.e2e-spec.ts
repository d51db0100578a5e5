/**
 * The store seam on a local 3-master Redis Cluster, through ioredis and node-redis: costs, blocks, refund and
 * forget on keys spread over every master (a block lives in its key, so no second key needs its slot); hitAll
 * all or none when a request's keys share a hash tag, exact under concurrency from two stores; a request whose
 * keys are in two slots refused with RFT_CLUSTER_CROSS_SLOT, nothing written; and an app with countRefused: false
 * whose throttles put the client's ident in a hash tag (`throttle_{scope}_{{ident}}`), end to end.
 */
import { Controller, Get } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { Throttle, type ThrottleCacheLike } from 'restflow-throttle';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { keySlot } from '../../lib/stores/redis/cluster-slot';
import { findRedisConnection } from '../../lib/stores/redis/find-redis';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import type { ThrottleAlgorithm } from '../../lib/stores/throttle-store';
import { startWeightedApp } from '../helpers/costs-and-blocks/app';
import { ClientThrottle, LongThrottle, RATES, ShortThrottle } from '../helpers/costs-and-blocks/routes';
import { RedisCluster } from '../helpers/redis-cluster';

let cluster: RedisCluster;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  cluster = await RedisCluster.start(3);
});
afterAll(async () => {
  for (const close of closers) await close();
  await cluster?.dispose();
});

interface Client {
  readonly cache: ThrottleCacheLike;
  /** A command routed by its key. */
  command(key: string, ...args: string[]): Promise<unknown>;
}

const LIBRARIES: Record<string, () => Promise<Client>> = {
  ioredis: async () => {
    const client = new Cluster(cluster.nodes).on('error', () => undefined);
    closers.push(() => client.disconnect());
    return { cache: client, command: (key, name, ...rest) => client.call(name, key, ...rest) };
  },
  'node-redis': async () => {
    const client = await createCluster({
      rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    })
      .on('error', () => undefined)
      .connect();
    closers.push(() => client.destroy());
    return { cache: client, command: (key, name, ...rest) => client.sendCommand(key, false, [name, key, ...rest]) };
  },
};

function storeOf(client: Client): RedisThrottleStore {
  const connection = findRedisConnection(client.cache);
  if (connection === undefined || !connection.cluster) throw new Error('not a Cluster connection');
  const faults = new CacheFaults({ name: 'cluster', policy: 'deny', timeoutMs: 2000, logger: { warn: () => {} } });
  return new RedisThrottleStore(connection, faults);
}

let keys = 0;
const T = 3_000_000;

describe.each(Object.keys(LIBRARIES))('%s', (library) => {
  let client: Client;
  let store: RedisThrottleStore;
  beforeAll(async () => {
    client = await LIBRARIES[library]();
    store = storeOf(client);
  });

  describe.each<ThrottleAlgorithm>(['sliding-log', 'gcra'])('%s', (algorithm) => {
    const spec = { limit: 3, durationSec: 60, algorithm };

    it('costs, blocks, refunds and forgets on keys of every master', async () => {
      const spread = Array.from({ length: 12 }, () => `spread:${library}:${algorithm}:${++keys}`);
      for (const key of spread) {
        const hit = (now: number, cost?: number, blockSec?: number) =>
          store.hit(key, 3, 60, now, algorithm, 'seam', cost, blockSec);
        expect(await hit(T, 2)).toMatchObject({ allowed: true, count: 2 });
        expect(await hit(T, 2, 100)).toMatchObject({ allowed: false, count: 3 }); // blocked for 100 s
        expect(await hit(T + 70, 1)).toMatchObject({ allowed: false });
        await store.refund(key, 1, spec, T + 70);
        expect(await hit(T + 70)).toMatchObject({ allowed: false }); // the block stays
        await store.forget(key);
        expect(await client.command(key, 'EXISTS')).toBe(0);
        await store.block(key, 30, spec, T);
        expect(await hit(T + 29, 0)).toMatchObject({ allowed: false, count: 3 });
        expect(await hit(T + 30, 0)).toMatchObject({ allowed: true, count: 0 });
      }
      // On every master, as the client's slot map says (read now: ioredis learns it at its first command).
      const masters = spread.map((key) => findRedisConnection(client.cache)?.masterOf(keySlot(key)));
      expect(new Set(masters).size).toBe(3);
    });

    it('hitAll is all or none over keys sharing a hash tag, exact under concurrency from two stores', async () => {
      const tag = `{client-${library}-${algorithm}-${++keys}}`;
      const [wide, narrow] = [`throttle_wide_${tag}`, `throttle_narrow_${tag}`];
      const other = storeOf(await LIBRARIES[library]());
      const request = (s: RedisThrottleStore) =>
        s.hitAll(
          [
            { key: wide, limit: 50, durationSec: 60, algorithm, cost: 2 },
            { key: narrow, limit: 4, durationSec: 60, algorithm, blockSec: 5 },
          ],
          T,
        );
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => request(i % 2 ? store : other)));
      expect(results.filter((r) => r.every((h) => h.allowed))).toHaveLength(4);
      expect(await store.hit(wide, 50, 60, T, algorithm, 'seam', 0)).toMatchObject({ allowed: true, count: 8 });
      if (algorithm === 'sliding-log') expect(await client.command(wide, 'LLEN')).toBe(8);
    });

    it('a request whose keys are in two slots is refused with RFT_CLUSTER_CROSS_SLOT, nothing written', async () => {
      const [a, b] = [`throttle_a_${++keys}`, `throttle_b_${++keys}`];
      expect(keySlot(a)).not.toBe(keySlot(b));
      const all = store.hitAll(
        [
          { key: a, limit: 5, durationSec: 60, algorithm },
          { key: b, limit: 5, durationSec: 60, algorithm },
        ],
        T,
      );
      await expect(all).rejects.toMatchObject({ name: 'ImproperlyConfiguredError', code: 'RFT_CLUSTER_CROSS_SLOT' });
      await expect(all).rejects.toThrow(`two Redis Cluster slots ('${a}' and '${b}')`);
      expect([await client.command(a, 'EXISTS'), await client.command(b, 'EXISTS')]).toEqual([0, 0]);
    });
  });
});

/** The route's two throttles, each keying the client's ident in a hash tag: one request's keys share a slot. */
class TaggedShortThrottle extends ShortThrottle {
  override cacheFormat = 'throttle_{scope}_{{ident}}';
}
class TaggedLongThrottle extends LongThrottle {
  override cacheFormat = 'throttle_{scope}_{{ident}}';
}
/** The default format: the whole key is hashed, so one request's two keys are in two slots. */
class UntaggedShortThrottle extends ClientThrottle {
  override scope = 'short';
  override cacheFormat = 'plain_{scope}_{ident}';
}

@Controller('cluster')
class ClusterController {
  @Get('tagged') @Throttle([TaggedShortThrottle, TaggedLongThrottle]) tagged() {
    return { ok: true };
  }
  @Get('untagged') @Throttle([UntaggedShortThrottle, LongThrottle]) untagged() {
    return { ok: true };
  }
}

describe('countRefused: false on a Cluster, end to end (Express, ioredis)', () => {
  it('decides a tagged route all or none; an untagged one fails its requests with RFT_CLUSTER_CROSS_SLOT', async () => {
    const client = await LIBRARIES.ioredis();
    const app = await startWeightedApp(
      'express',
      client.cache,
      { rates: RATES, countRefused: false },
      { controllers: [ClusterController] },
    );
    closers.unshift(() => app.close());
    const get = (path: string) => app.send('GET', path, 'c1');
    expect(await get('/cluster/tagged')).toMatchObject({ status: 200 });
    // Refused by the 1/s throttle: counted by neither, so the 3/min one still has 2 left.
    expect(await get('/cluster/tagged')).toMatchObject({ status: 429, headers: { 'x-ratelimit-remaining-long': '2' } });
    expect(await client.command('throttle_long_{c1}', 'LLEN')).toBe(1);
    expect(keySlot('plain_short_c1')).not.toBe(keySlot('throttle_long_c1'));
    const untagged = await get('/cluster/untagged');
    expect(untagged.status).toBe(500);
    expect(await client.command('plain_short_c1', 'EXISTS')).toBe(0);
    expect(await client.command('throttle_long_c1', 'EXISTS')).toBe(0);
  });
});
