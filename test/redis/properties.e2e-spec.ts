/**
 * The Lua scripts against literal reference models on random timelines, on a
 * real redis-server and on a 3-master Redis Cluster: the sliding log against
 * DRF's list, GCRA against test/helpers/gcra-model.ts. Hits are sent one by
 * one or all at once (one pipelined batch): the answers must not differ.
 */
import fc from 'fast-check';
import { Cluster, Redis } from 'ioredis';
import { computeWait } from 'restflow-throttle';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import type { HitResult } from '../../lib/stores/throttle-store';
import { GcraModel } from '../helpers/gcra-model';
import { RedisCluster } from '../helpers/redis-cluster';
import { RedisServer } from '../helpers/redis-server';

/** DRF's sliding log, literally: the history list, newest first. */
class ReferenceLog {
  private readonly histories = new Map<string, number[]>();
  hit(key: string, limit: number, duration: number, now: number): { allowed: boolean; wait: number | null } {
    const history = this.histories.get(key) ?? [];
    this.histories.set(key, history);
    while (history.length > 0 && history[history.length - 1] <= now - duration) history.pop();
    if (history.length >= limit) {
      const remaining = history.length > 0 ? duration - (now - history[history.length - 1]) : duration;
      const available = limit - history.length + 1;
      return { allowed: false, wait: available <= 0 ? null : remaining / available };
    }
    history.unshift(now);
    return { allowed: true, wait: null };
  }
}

const logTimeline = fc.record({
  limit: fc.nat({ max: 10 }),
  duration: fc.integer({ min: 1, max: 20 }),
  steps: fc.array(
    fc.record({
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 8 }), fc.double({ min: 0, max: 8, noNaN: true })),
      key: fc.constantFrom('a', 'b'),
    }),
    { minLength: 1, maxLength: 60 },
  ),
});

/** Dyadic times and intervals, so GCRA's boundaries are reached exactly (see the get/set property test). */
const gcraTimeline = fc.record({
  limit: fc.integer({ min: 0, max: 6 }),
  interval: fc.constantFrom(0.25, 0.5, 1, 2),
  steps: fc.array(
    fc.record({ dt: fc.integer({ min: 0, max: 24 }).map((n) => n / 8), key: fc.constantFrom('a', 'b') }),
    { minLength: 1, maxLength: 60 },
  ),
});

let runs = 0;

/** Sends the hits one by one, or all in one turn (one batch); answers in order. */
async function play(
  store: RedisThrottleStore,
  hits: ReadonlyArray<{ key: string; limit: number; duration: number; now: number }>,
  algorithm: 'sliding-log' | 'gcra',
  together: boolean,
): Promise<HitResult[]> {
  const prefix = `{run${++runs}}`;
  const results: Array<HitResult | Promise<HitResult>> = [];
  for (const hit of hits) {
    const pending = store.hit(`${prefix}${hit.key}`, hit.limit, hit.duration, hit.now, algorithm);
    results.push(together ? pending : await pending);
  }
  return Promise.all(results);
}

function describeOn(
  name: string,
  open: () => Promise<{ client: Redis | Cluster; close(): Promise<void> }>,
  numRuns: number,
): void {
  describe(name, () => {
    let env: { client: Redis | Cluster; close(): Promise<void> };
    let store: RedisThrottleStore;

    beforeAll(async () => {
      env = await open();
      store = new RedisThrottleStore(
        new IoredisConnection(env.client),
        new CacheFaults({ name, policy: 'deny', timeoutMs: 60_000 }),
      );
    }, 60_000);
    afterAll(async () => env?.close());

    it('the sliding log: the reference decisions and waits on random timelines', async () => {
      await fc.assert(
        fc.asyncProperty(logTimeline, fc.boolean(), async ({ limit, duration, steps }, together) => {
          const reference = new ReferenceLog();
          let now = 1000;
          const hits = steps.map(({ dt, key }) => ({ key, limit, duration, now: (now += dt) }));
          const expected = hits.map((hit) => reference.hit(hit.key, limit, duration, hit.now));
          const actual = await play(store, hits, 'sliding-log', together);
          actual.forEach((result, i) => {
            expect(result.allowed).toBe(expected[i].allowed);
            if (!result.allowed)
              expect(computeWait({ ...result, numRequests: limit, duration })).toBe(expected[i].wait);
          });
        }),
        { numRuns },
      );
    });

    it("GCRA: the reference model's decisions, counts, oldest and waits on random timelines", async () => {
      await fc.assert(
        fc.asyncProperty(gcraTimeline, fc.boolean(), async ({ limit, interval, steps }, together) => {
          const duration = Math.max(limit, 1) * interval;
          const model = new GcraModel();
          let now = 1000;
          const hits = steps.map(({ dt, key }) => ({ key, limit, duration, now: (now += dt) }));
          const expected = hits.map((hit) => model.hit(hit.key, limit, duration, hit.now));
          const actual = await play(store, hits, 'gcra', together);
          actual.forEach((result, i) => {
            const { wait, ...shape } = expected[i];
            expect(result).toEqual(shape);
            if (!result.allowed) expect(computeWait({ ...result, numRequests: limit, duration })).toBe(wait);
          });
        }),
        { numRuns },
      );
    });

    it('GCRA at a Unix time: a burst of exactly `limit` at one instant for any limit, rounding notwithstanding', async () => {
      for (const limit of [3, 7, 9, 13, 50, 99, 1000]) {
        for (const duration of [1, 60, 86_400]) {
          const key = `{burst${++runs}}`;
          const now = 1_795_975_641.181439 + runs / 7;
          // In turns of at most 500: a key's share of one batch is 512 hits. The same instant all the same.
          const results: HitResult[] = [];
          for (let sent = 0; sent < limit + 2; sent += 500) {
            const turn = Array.from({ length: Math.min(500, limit + 2 - sent) }, () =>
              store.hit(key, limit, duration, now, 'gcra'),
            );
            results.push(...(await Promise.all(turn)));
          }
          expect(results.filter((r) => r.allowed)).toHaveLength(limit);
          expect(results.filter((r) => r.allowed).map((r) => r.count)).toEqual(
            Array.from({ length: limit }, (_, i) => i + 1),
          );
        }
      }
    }, 120_000);

    it("GCRA keeps one short string per key, alive for a duration (never less: the throttle's clock may not be the server's)", async () => {
      const key = `{gcra${++runs}}`;
      for (let i = 0; i < 3; i++) expect((await store.hit(key, 100_000, 86_400, undefined, 'gcra')).allowed).toBe(true);
      const stored = (await env.client.get(key)) as string;
      expect(stored).toMatch(/^\d+(\.\d+)?$/);
      const [seconds] = (await env.client.call('TIME')) as [string, string];
      expect(Math.abs(Number(stored) - Number(seconds) - 3 * 0.864)).toBeLessThan(5);
      const ttl = await env.client.pttl(key);
      expect(ttl).toBeGreaterThan(86_400_000 - 5_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
    });
  });
}

describeOn(
  'a redis-server',
  async () => {
    const server = await RedisServer.start();
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    return { client, close: async () => (await client.quit(), await server.dispose()) };
  },
  100,
);

describeOn(
  'a 3-master Redis Cluster',
  async () => {
    const cluster = await RedisCluster.start(3);
    const client = new Cluster(cluster.nodes);
    return { client, close: async () => (await client.quit(), await cluster.dispose()) };
  },
  30,
);
