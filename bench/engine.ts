/**
 * `node --expose-gc engine.js <decisions|memory|worst> <redisPort> <json>`: the throttle engine without HTTP (throttle ->
 * store, as the guard calls it) on a virtual clock (the module's `clock` option); prints its result as one JSON line.
 */
import 'reflect-metadata';
import { Injectable, Module, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { RestflowThrottleModule, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { median } from './report';

const DAY = 86_400;
const [task, port, json] = process.argv.slice(2);
const t = JSON.parse(json) as { store: 'memory' | 'redis'; algorithm: 'sliding-log' | 'gcra'; limit: number; seconds: number; rounds: number; keys: number; hits: number };
const clock = { now: 1_000_000 };
const client = t.store === 'redis' ? new Redis({ host: '127.0.0.1', port: Number(port) }) : undefined;
let decide: (key: string) => boolean | PromiseLike<boolean>;
let unexpected = 0;

@Injectable()
class Hot extends SimpleRateThrottle {
  override scope = 'hot';
  override algorithm = t.algorithm;
  getCacheKey = (request: ThrottleRequest) => `throttle_hot_${String(request.headers['x-key'])}`;
}
@Module({ providers: [Hot], imports: [RestflowThrottleModule.forRoot({ rates: { hot: `${t.limit}/day` }, clock: () => clock.now, cache: client })] })
class HotModule {}

/**
 * Decisions per second on one key, `count` of them (to fill; on Redis 512 in flight) or for `seconds` (on Redis 32 in
 * flight, as a busy server has), the clock moved `step` before each; any other outcome than `expect` is unexpected.
 */
async function run(key: string, o: { count?: number; seconds?: number; step: number; expect: boolean }): Promise<number> {
  const started = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < (o.count ?? Infinity) && ((issued & 127) !== 0 || performance.now() < started + (o.seconds ?? Infinity) * 1000)) {
      issued++;
      clock.now += o.step;
      let allowed = decide(key);
      if (typeof allowed !== 'boolean') allowed = await allowed; // the memory store answers synchronously: no microtask
      if (allowed !== o.expect) unexpected++;
    }
  };
  await Promise.all(Array.from({ length: client ? (o.count ? 512 : 32) : 1 }, worker));
  return issued / ((performance.now() - started) / 1000);
}

/** Allowed decisions with the window kept exactly full and sliding, then denied ones on a full window. */
async function decisions() {
  const step = DAY / (t.limit - 0.5); // each allowed decision expires one entry and records one
  // A log filled while sliding holds `limit` timestamps; a GCRA bucket is full after a burst at one instant.
  await run('hot', { count: t.limit, step: t.algorithm === 'gcra' ? 0 : step, expect: true });
  const [allowed, denied]: number[][] = [[], []];
  for (let round = 0; round < t.rounds; round++) {
    allowed.push(await run('hot', { seconds: t.seconds, step, expect: true }));
    while ((await decide('hot')) === true); // sliding, a GCRA bucket drifts below full (a log does not): fill it at a frozen clock
    denied.push(await run('hot', { seconds: t.seconds, step: 0, expect: false }));
  }
  return { 'allowed/s': median(allowed), 'denied/s': median(denied) };
}

/** Heap growth after a full GC (memory store) or MEMORY USAGE (Redis), every hit of every key in one window. */
async function memory() {
  gc!();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let k = 0; k < t.keys; k++) await run(`k${k}`, { count: t.hits, step: DAY / 2 / (t.keys * t.hits), expect: true });
  gc!();
  let bytes = process.memoryUsage().heapUsed - heapBefore;
  if (client) bytes = (await Promise.all((await client.keys('*')).map((key) => client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')))).reduce((a: number, b) => a + Number(b), 0);
  return { keys: t.keys, 'hits per key': t.hits, 'bytes per key': bytes / t.keys };
}

/** A log of `limit` timestamps expiring at once, then one request: the single longest script, from SLOWLOG. */
async function worst() {
  await run('worst', { count: t.limit, step: 1e-4, expect: true });
  await client!.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
  await client!.call('SLOWLOG', 'RESET');
  clock.now += DAY + 1;
  if (!(await decide('worst'))) unexpected++;
  const log = (await client!.call('SLOWLOG', 'GET', '128')) as Array<[number, number, number, string[]]>;
  const scripts = log.filter((entry) => /^eval/i.test(entry[3][0])).map((entry) => Number(entry[2]));
  return { entries: t.limit, worstScriptUs: scripts.length > 0 ? Math.max(...scripts) : NaN, unexpected };
}

async function main(): Promise<object> {
  await client?.flushall();
  const throttle = (await NestFactory.createApplicationContext(HotModule, { logger: ['error'] })).get(Hot);
  // The context is DRF's view: a rate throttle keyed on the request does not read it.
  decide = (key) => throttle.allowRequest({ headers: { 'x-key': key } }, {} as ExecutionContext);
  if (task === 'worst') return worst();
  const result = await (task === 'decisions' ? decisions() : memory());
  return { store: t.store, algorithm: t.algorithm, limit: t.limit, ...result, 'unexpected outcomes': unexpected };
}

main().then((result) => (console.log(JSON.stringify(result)), process.exit(0)), (error: unknown) => (console.error(error), process.exit(1)));
