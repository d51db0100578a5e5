/**
 * The Lua twins against the TypeScript steps: random runs of hits (costs, looks, blocks), hitAll, refund, block and
 * forget, sent to a real redis-server (one by one, and several in one batch) and to the memory store, whose steps are
 * algorithms.ts, with the same clock. Every answer must be the same, number for number: the Redis store decides as
 * the memory and get/set stores do (algorithms.ts says a change to one is made to both).
 */
import { Redis } from 'ioredis';
import { MemoryThrottleStore } from 'restflow-throttle';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import type { HitResult, StoreHit, ThrottleAlgorithm } from '../../lib/stores/throttle-store';
import { RedisServer } from '../helpers/redis-server';

let server: RedisServer;
let client: Redis;
let redis: RedisThrottleStore;

beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis({ host: '127.0.0.1', port: server.port });
  const faults = new CacheFaults({ name: 'model', policy: 'deny', timeoutMs: 10_000, logger: { warn: () => {} } });
  redis = new RedisThrottleStore(new IoredisConnection(client), faults);
});
afterAll(async () => {
  client?.disconnect();
  await server?.dispose();
});

/** mulberry32: a seeded run can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface KeyPlan {
  readonly key: string;
  readonly algorithm: ThrottleAlgorithm;
  readonly limit: number;
  readonly durationSec: number;
}

/** One step of a run, and what each store answered (a refusal to count is an error's message). */
type Answer = HitResult | HitResult[] | string | undefined;

async function settle(run: () => unknown): Promise<Answer> {
  try {
    return (await run()) as Answer;
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describe.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i', (seed) => {
  it('every answer of the Redis store is the memory store’s', async () => {
    const next = random(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)];
    const memory = new MemoryThrottleStore();
    const plans: KeyPlan[] = Array.from({ length: 4 }, (_, i) => ({
      key: `model:${seed}:${i}`,
      algorithm: i % 2 === 0 ? 'sliding-log' : 'gcra',
      limit: pick([1, 2, 3, 5, 8]),
      durationSec: pick([10, 60]),
    }));
    let now = 5_000_000 + seed * 10_000;
    const hitOf = (): StoreHit => {
      const plan = pick(plans);
      // Now and then another rate on the same key (two throttles sharing a log).
      const limit = next() < 0.15 ? pick([1, 4, 10]) : plan.limit;
      return {
        ...plan,
        limit,
        cost: pick([0, 1, 1, 1, 1, 2, 3, limit + 1]),
        blockSec: pick([0, 0, 0, 0, 5, 30]),
      };
    };
    const steps: Array<{ step: string; redis: Answer; memory: Answer }> = [];
    for (let i = 0; i < 250; i++) {
      now += pick([0, 0, 0.25, 0.5, 1, 2, 3, 7, 15]);
      const roll = next();
      let step: string;
      let fromRedis: Answer;
      let fromMemory: Answer;
      if (roll < 0.45) {
        const h = hitOf();
        step = `hit ${JSON.stringify(h)} @${now}`;
        const args = [h.key, h.limit, h.durationSec, now, h.algorithm, 'model', h.cost, h.blockSec] as const;
        fromRedis = await settle(() => redis.hit(...args));
        fromMemory = await settle(() => memory.hit(...args));
      } else if (roll < 0.6) {
        // Several hits in one batch (one script), decided in the order they were asked.
        const batch = Array.from({ length: 2 + Math.floor(next() * 4) }, hitOf);
        step = `batch ${JSON.stringify(batch)} @${now}`;
        const args = (h: StoreHit) =>
          [h.key, h.limit, h.durationSec, now, h.algorithm, 'model', h.cost, h.blockSec] as const;
        fromRedis = await settle(() => Promise.all(batch.map((h) => redis.hit(...args(h)))));
        fromMemory = await settle(() => batch.map((h) => memory.hit(...args(h))));
      } else if (roll < 0.8) {
        const hits = Array.from({ length: 2 + Math.floor(next() * 3) }, hitOf);
        step = `hitAll ${JSON.stringify(hits)} @${now}`;
        fromRedis = await settle(() => redis.hitAll(hits, now));
        fromMemory = await settle(() => memory.hitAll(hits, now));
      } else if (roll < 0.9) {
        const plan = pick(plans);
        const cost = pick([1, 2, 5]);
        step = `refund ${plan.key} ${cost} @${now}`;
        fromRedis = await settle(() => redis.refund(plan.key, cost, plan, now));
        fromMemory = await settle(() => memory.refund(plan.key, cost, plan, now));
      } else if (roll < 0.96) {
        const plan = pick(plans);
        const seconds = pick([3, 20, 90]);
        step = `block ${plan.key} ${seconds} @${now}`;
        fromRedis = await settle(() => redis.block(plan.key, seconds, plan, now));
        fromMemory = await settle(() => memory.block(plan.key, seconds, plan, now));
      } else {
        const plan = pick(plans);
        step = `forget ${plan.key} @${now}`;
        fromRedis = await settle(() => redis.forget(plan.key));
        fromMemory = await settle(() => memory.forget(plan.key));
      }
      steps.push({ step, redis: fromRedis, memory: fromMemory });
    }
    const first = steps.findIndex((s) => JSON.stringify(s.redis) !== JSON.stringify(s.memory));
    // The first step where they part, with the steps before it on its keys, to replay it.
    expect(first === -1 ? 'all agree' : steps.slice(Math.max(0, first - 6), first + 1)).toBe('all agree');
    expect(steps.filter((s) => s.step.startsWith('hitAll')).length).toBeGreaterThan(20);
    expect(steps.some((s) => Array.isArray(s.redis) && s.redis.some((r) => !r.allowed))).toBe(true);
  });
});
