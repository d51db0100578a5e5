/**
 * The throttle engine without HTTP (throttle -> store, as the guard calls it),
 * driven by a virtual clock given as the module's `clock` option, one process
 * per task: `node --expose-gc engine.js <decisions|memory|worst> <redisPort> <json>`;
 * prints its result as JSON. A store whose cost grows with the limit shows here.
 */
import 'reflect-metadata';
import { Injectable, Module, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { RestflowThrottleModule, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { oursRedisCache } from './server';
import { median } from './stats';

export interface EngineSettings {
  store: 'memory' | 'redis';
  algorithm: 'sliding-log' | 'gcra';
  limit: number;
}
const DAY = 86_400;

/** Keyed by the request's `x-key` header; rate `<limit>/day`. */
@Injectable()
class HotThrottle extends SimpleRateThrottle {
  override scope = 'hot';
  getCacheKey(request: ThrottleRequest): string {
    return `throttle_hot_${String(request.headers['x-key'])}`;
  }
}

@Injectable()
class GcraHotThrottle extends HotThrottle {
  override algorithm = 'gcra' as const;
}

/** One engine: `decide(key)` is allowed (`true`) or denied (`false`), sync or async. */
async function engine(settings: EngineSettings, redisPort: number) {
  const clock = { now: 1_000_000 };
  const client = settings.store === 'redis' ? new Redis({ host: '127.0.0.1', port: redisPort }) : undefined;
  await client?.flushall();
  const Throttle = settings.algorithm === 'gcra' ? GcraHotThrottle : HotThrottle;
  @Module({ providers: [Throttle] })
  class HotModule {}
  const app = await NestFactory.createApplicationContext(
    {
      module: HotModule,
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { hot: `${settings.limit}/day` },
          clock: () => clock.now,
          ...(client ? { cache: oursRedisCache(client) } : {}),
        }),
      ],
    },
    { logger: ['error'] },
  );
  const throttle = app.get(Throttle);
  // The context is DRF's view: a rate throttle keyed on the request does not read it.
  const decide = (key: string) => throttle.allowRequest({ headers: { 'x-key': key } }, {} as ExecutionContext);
  return { clock, client, decide, close: async () => (await app.close(), await client?.quit()) };
}
type Engine = Awaited<ReturnType<typeof engine>>;

/**
 * `count` decisions on one key (or until `seconds` pass), the clock moved by
 * `step` before each; on Redis 32 in flight, as a busy server has (more to fill a log).
 * Returns decisions per second and how many did not come out as `expect`.
 */
async function run(e: Engine, key: string, o: { count?: number; seconds?: number; step: number; expect: boolean; inFlight?: number }) {
  const end = performance.now() + (o.seconds ?? Infinity) * 1000;
  const count = o.count ?? Infinity;
  const started = performance.now();
  let issued = 0;
  let wrong = 0;
  const worker = async () => {
    while (issued < count && ((issued & 127) !== 0 || performance.now() < end)) {
      issued++;
      e.clock.now += o.step;
      let allowed = e.decide(key);
      if (typeof allowed !== 'boolean') allowed = await allowed;
      if (allowed !== o.expect) wrong++;
    }
  };
  await Promise.all(Array.from({ length: e.client ? (o.inFlight ?? 32) : 1 }, worker));
  return { perSec: issued / ((performance.now() - started) / 1000), wrong };
}

/** Decisions per second on one hot key whose window is kept exactly full, allowed (sliding) and denied. */
async function decisions({ store, algorithm, limit }: EngineSettings, port: number, seconds: number, rounds: number) {
  const settings = { store, algorithm, limit };
  const e = await engine(settings, port);
  const step = DAY / (settings.limit - 0.5); // each allowed decision expires one entry and records one
  // A log filled while sliding holds `limit` timestamps; a GCRA bucket is full after a burst at one instant.
  const fill = await run(e, 'hot', { count: settings.limit, step: algorithm === 'gcra' ? 0 : step, expect: true, inFlight: 512 });
  const allowed: number[] = [];
  const deniedPerSec: number[] = [];
  let wrong = fill.wrong;
  for (let round = 0; round < rounds; round++) {
    const a = await run(e, 'hot', { seconds, step, expect: true });
    // Sliding, a GCRA bucket drifts below full (a log does not): fill it at a frozen clock, up to the first denial.
    while ((await e.decide('hot')) === true);
    const d = await run(e, 'hot', { seconds, step: 0, expect: false });
    allowed.push(a.perSec);
    deniedPerSec.push(d.perSec);
    wrong += a.wrong + d.wrong;
  }
  await e.close();
  return { ...settings, allowedPerSec: median(allowed), deniedPerSec: median(deniedPerSec), unexpected: wrong };
}

/** Bytes per key with `keys` keys of `hits` hits each: heap after a full GC (memory), MEMORY USAGE (Redis). */
async function memory({ store, algorithm, limit }: EngineSettings, port: number, keys: number, hits: number) {
  const settings = { store, algorithm, limit };
  const e = await engine(settings, port);
  const gc = () => (globalThis as { gc?: () => void }).gc?.();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const step = DAY / 2 / (keys * hits); // every hit of every key within one window: a sliding log holds them all
  let wrong = 0;
  for (let k = 0; k < keys; k++) wrong += (await run(e, `k${k}`, { count: hits, step, expect: true, inFlight: 512 })).wrong;
  gc();
  let bytes = process.memoryUsage().heapUsed - heapBefore;
  if (e.client) {
    const names = (await e.client.keys('*')) as string[];
    const sizes = await Promise.all(names.map((name) => e.client!.call('MEMORY', 'USAGE', name, 'SAMPLES', '0') as Promise<number>));
    bytes = sizes.reduce((sum, size) => sum + Number(size), 0);
  }
  await e.close();
  return { ...settings, keys, hits, bytesPerKey: bytes / keys, unexpected: wrong };
}

/** A log of `entries` timestamps expiring at once: the duration of the single worst script, from SLOWLOG. */
async function worst(port: number, entries: number) {
  const e = await engine({ store: 'redis', algorithm: 'sliding-log', limit: entries }, port);
  const fill = await run(e, 'worst', { count: entries, step: 1e-4, expect: true, inFlight: 512 });
  const admin = new Redis({ host: '127.0.0.1', port });
  await admin.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
  await admin.call('SLOWLOG', 'RESET');
  e.clock.now += DAY + 1;
  const allowed = await e.decide('worst');
  const log = (await admin.call('SLOWLOG', 'GET', '128')) as Array<[number, number, number, string[]]>;
  const scripts = log.filter((entry) => /^eval/i.test(String(entry[3][0]))).map((entry) => Number(entry[2]));
  await admin.call('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
  await admin.quit();
  await e.close();
  return { entries, worstScriptUs: scripts.length > 0 ? Math.max(...scripts) : NaN, unexpected: fill.wrong + (allowed ? 0 : 1) };
}

async function main(): Promise<void> {
  const [task, port, json] = process.argv.slice(2);
  const o = JSON.parse(json) as EngineSettings & { seconds: number; rounds: number; keys: number; hits: number; entries: number };
  const result =
    task === 'decisions' ? await decisions(o, Number(port), o.seconds, o.rounds)
    : task === 'memory' ? await memory(o, Number(port), o.keys, o.hits)
    : await worst(Number(port), o.entries);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
