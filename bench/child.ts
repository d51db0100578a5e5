/** `node --expose-gc child.js <json>`: the app under test (task `server`), or a throttle's task without HTTP. */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Injectable, type ExecutionContext, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { DECISION_SECONDS } from './report';

const s = JSON.parse(process.argv[2]) as { task: string; platform: string; limiter: string; store: string }
  & { algorithm: 'sliding-log' | 'gcra'; limit: number; keys: number; hits: number; redisPort: number };
const redis = s.store === 'redis' ? new Redis({ host: '127.0.0.1', port: s.redisPort }) : undefined;
const [DAY, clock] = [86_400, { now: 1_000_000 }];
let decide: (key: string) => boolean | PromiseLike<boolean>;

@Controller()
class HelloController {
  @Get() hello() { return { hello: 'world' }; }
}

/** Admits every request, as the module's own guard would, and does nothing else. */
@Injectable()
class EmptyGuard {
  canActivate() { return true; }
}

/** The least a limiter keyed per client does: find the client's entry in a Map (or add it), count the request. */
@Injectable()
class MapGuard {
  private readonly clients = new Map<string, { hits: number }>();
  canActivate(context: ExecutionContext) {
    const address = String(context.switchToHttp().getRequest<ThrottleRequest>().headers['x-forwarded-for']);
    const client = this.clients.get(address);
    if (client === undefined) this.clients.set(address, { hits: 1 });
    else client.hits++;
    return true;
  }
}

/** Every limiter allows every request (10^9 a minute) and keys on the last X-Forwarded-For address: the same work. */
function limiterModule(): ModuleMetadata {
  if (s.limiter === 'none') return {};
  if (s.limiter.endsWith('-guard')) {
    return { providers: [{ provide: APP_GUARD, useClass: s.limiter === 'map-guard' ? MapGuard : EmptyGuard }] };
  }
  const ours = { defaultThrottles: [AnonRateThrottle], rates: { anon: '1000000000/min' }, numProxies: 1, cache: redis };
  if (s.limiter.startsWith('ours-')) return { imports: [RestflowThrottleModule.forRoot(ours)] };
  // Installed in bench/competitors: it declares peers only up to Nest 11.
  const { ThrottlerStorageRedisService } = createRequire(`${process.cwd()}/bench/competitors/`)(
    '@nest-lab/throttler-storage-redis') as { ThrottlerStorageRedisService: new (client: Redis) => ThrottlerStorage };
  // Keyed as ours is with `numProxies: 1` (the last X-Forwarded-For address), through @nestjs/throttler's own hook.
  const peer = ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: 1e9 }],
    storage: redis && new ThrottlerStorageRedisService(redis),
    getTracker: async (req) => String(req.headers['x-forwarded-for'] ?? req.ip).split(',').at(-1)!.trim() });
  return { imports: [peer], providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }] };
}

/** A rate throttle on one header, as the guard calls it (throttle -> store), on the module's `clock`. */
@Injectable()
class Hot extends SimpleRateThrottle {
  override rate = `${s.limit}/day`;
  override algorithm = s.algorithm;
  getCacheKey = (request: ThrottleRequest) => `throttle_hot_${String(request.headers['x-key'])}`;
}

/**
 * Decisions a second on one key, the clock moved `step` before each: `count` of them or for `seconds`. One at a time
 * on the memory store, 32 in flight on Redis (as a busy server has). Any other outcome than `expect` stops the bench.
 */
async function run(key: string, step: number, expect: boolean, count: number, seconds = Infinity): Promise<number> {
  const started = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < count && ((issued & 127) !== 0 || performance.now() < started + seconds * 1000)) {
      issued++;
      clock.now += step;
      const allowed = decide(key); // the memory store answers synchronously: no microtask
      if ((typeof allowed === 'boolean' ? allowed : await allowed) !== expect) throw new Error(`${key}: not ${expect}`);
    }
  };
  await Promise.all(Array.from({ length: redis ? 32 : 1 }, worker));
  return issued / ((performance.now() - started) / 1000);
}

/** Bytes in use: the heap after a full GC, or all that Redis holds. */
async function bytesInUse(): Promise<number> {
  if (redis) return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  gc!();
  return process.memoryUsage().heapUsed;
}

/** A task without HTTP: the columns it adds to its row. */
async function task(): Promise<Record<string, number>> {
  if (s.task === 'decisions') { // allowed ones with the window kept exactly full and sliding; denied ones on a full one
    const step = DAY / (s.limit - 0.5); // each allowed decision expires one entry and records one
    // A log filled while sliding holds `limit` timestamps; a GCRA bucket is full after a burst at one instant.
    await run('hot', s.algorithm === 'gcra' ? 0 : step, true, s.limit);
    const allowed = await run('hot', step, true, Infinity, DECISION_SECONDS);
    while ((await decide('hot')) === true); // a sliding GCRA bucket drifts below full (a log does not): refill it
    return { 'allowed/s': allowed, 'denied/s': await run('hot', 0, false, Infinity, DECISION_SECONDS) };
  }
  if (s.task === 'memory') { // growth of the bytes in use over every hit of every key, all in one window
    const before = await bytesInUse();
    for (let k = 0; k < s.keys; k++) await run(`k${k}`, DAY / 2 / (s.keys * s.hits), true, s.hits);
    return { keys: s.keys, 'hits per key': s.hits, 'bytes per key': ((await bytesInUse()) - before) / s.keys };
  }
  // The worst case: a log of `limit` timestamps expiring at once, then one request; the longest script in SLOWLOG.
  await run('worst', 1e-4, true, s.limit);
  await redis!.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
  await redis!.call('SLOWLOG', 'RESET');
  await run('worst', DAY + 1, true, 1);
  const log = (await redis!.call('SLOWLOG', 'GET', '128')) as Array<[number, number, number, string[]]>;
  const scripts = log.filter((entry) => /^eval/i.test(entry[3][0])).map((entry) => entry[2]);
  if (scripts.length === 0) throw new Error('no script in SLOWLOG: the worst case was not measured');
  return { 'worst script, µs': Math.max(...scripts) };
}

async function main(): Promise<void> {
  if (s.task === 'server') { // prints its port once listening, then serves until killed
    const root = { module: class Bench {}, controllers: [HelloController], ...limiterModule() };
    const adapter = s.platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
    const app = await NestFactory.create(root, adapter, { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    return console.log(JSON.stringify({ port: (app.getHttpServer().address() as { port: number }).port }));
  }
  const throttleModule = RestflowThrottleModule.forRoot({ clock: () => clock.now, cache: redis });
  const root = { module: class Engine {}, providers: [Hot], imports: [throttleModule] };
  const throttle = (await NestFactory.createApplicationContext(root, { logger: ['error'] })).get(Hot);
  // The context is DRF's view, which a rate throttle keyed on the request does not read.
  decide = (key) => throttle.allowRequest({ headers: { 'x-key': key } }, {} as ExecutionContext);
  console.log(JSON.stringify({ store: s.store, algorithm: s.algorithm, limit: s.limit, ...(await task()) }));
  process.exit(0); // the Redis client would keep the process alive
}

main().catch((error: unknown) => (console.error(error), process.exit(1)));
