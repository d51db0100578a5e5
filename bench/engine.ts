/** `node --expose-gc engine.js <json>`: one task on a throttle without HTTP, on a virtual clock; prints a JSON line. */
import 'reflect-metadata';
import { Injectable, Module, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { RestflowThrottleModule, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { DECISIONS, median } from './report';

type Task = { task: 'decisions' | 'memory' | 'worst'; store: string; algorithm: 'sliding-log' | 'gcra' };
const t = JSON.parse(process.argv[2]) as Task & Record<'redisPort' | 'limit' | 'keys' | 'hits', number>;
const [DAY, clock] = [86_400, { now: 1_000_000 }];
const client = t.store === 'redis' ? new Redis({ host: '127.0.0.1', port: t.redisPort }) : undefined;
let decide: (key: string) => boolean | PromiseLike<boolean>;
let unexpected = 0;

/** A rate throttle on one header, as the guard calls it (throttle -> store), on the module's `clock`. */
@Injectable()
class Hot extends SimpleRateThrottle {
  override rate = `${t.limit}/day`;
  override algorithm = t.algorithm;
  getCacheKey = (request: ThrottleRequest) => `throttle_hot_${String(request.headers['x-key'])}`;
}
@Module({ providers: [Hot], imports: [RestflowThrottleModule.forRoot({ clock: () => clock.now, cache: client })] })
class HotModule {}

/**
 * Decisions a second on one key, the clock moved `step` before each: `count` of them (to fill: on Redis 512 in flight)
 * or for `seconds` (on Redis 32 in flight, as a busy server has). Any other outcome than `expect` is unexpected.
 */
async function run(key: string, step: number, expect: boolean, count: number, seconds = Infinity): Promise<number> {
  const started = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < count && ((issued & 127) !== 0 || performance.now() < started + seconds * 1000)) {
      issued++;
      clock.now += step;
      const allowed = decide(key); // the memory store answers synchronously: no microtask
      if ((typeof allowed === 'boolean' ? allowed : await allowed) !== expect) unexpected++;
    }
  };
  await Promise.all(Array.from({ length: client ? (seconds < Infinity ? 32 : 512) : 1 }, worker));
  return issued / ((performance.now() - started) / 1000);
}

const tasks = {
  /** Allowed decisions with the window kept exactly full and sliding, then denied ones on a full window. */
  async decisions() {
    const step = DAY / (t.limit - 0.5); // each allowed decision expires one entry and records one
    // A log filled while sliding holds `limit` timestamps; a GCRA bucket is full after a burst at one instant.
    await run('hot', t.algorithm === 'gcra' ? 0 : step, true, t.limit);
    const [allowed, denied]: number[][] = [[], []];
    for (let round = 0; round < DECISIONS.rounds; round++) {
      allowed.push(await run('hot', step, true, Infinity, DECISIONS.seconds));
      while ((await decide('hot')) === true); // a sliding GCRA bucket drifts below full (a log does not): refill it
      denied.push(await run('hot', 0, false, Infinity, DECISIONS.seconds));
    }
    return { 'allowed/s': median(allowed), 'denied/s': median(denied) };
  },
  /** Heap growth after a full GC (memory store) or MEMORY USAGE (Redis), every hit of every key in one window. */
  async memory() {
    gc!();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let k = 0; k < t.keys; k++) await run(`k${k}`, DAY / 2 / (t.keys * t.hits), true, t.hits);
    gc!();
    const heap = [process.memoryUsage().heapUsed - heapBefore];
    const usage = (key: string) => client!.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') as Promise<number>;
    const bytes = client ? await Promise.all((await client.keys('*')).map(usage)) : heap;
    return { keys: t.keys, 'hits per key': t.hits, 'bytes per key': bytes.reduce((a, b) => a + b, 0) / t.keys };
  },
  /** A log of `limit` timestamps expiring at once, then one request: the single longest script, from SLOWLOG. */
  async worst() {
    await run('worst', 1e-4, true, t.limit);
    await client!.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
    await client!.call('SLOWLOG', 'RESET');
    await run('worst', DAY + 1, true, 1);
    const log = (await client!.call('SLOWLOG', 'GET', '128')) as Array<[number, number, number, string[]]>;
    const scripts = log.filter((entry) => /^eval/i.test(entry[3][0])).map((entry) => entry[2]);
    if (scripts.length === 0) throw new Error('no script in SLOWLOG: the worst case was not measured');
    return { 'worst script, µs': Math.max(...scripts) };
  },
};

async function main(): Promise<void> {
  await client?.flushall();
  const throttle = (await NestFactory.createApplicationContext(HotModule, { logger: ['error'] })).get(Hot);
  // The context is DRF's view, which a rate throttle keyed on the request does not read.
  decide = (key) => throttle.allowRequest({ headers: { 'x-key': key } }, {} as ExecutionContext);
  const result = { store: t.store, algorithm: t.algorithm, limit: t.limit, ...(await tasks[t.task]()) };
  console.log(JSON.stringify({ ...result, 'unexpected outcomes': unexpected }));
  process.exit(0); // the Redis client would keep the process alive
}

main().catch((error: unknown) => (console.error(error), process.exit(1)));
