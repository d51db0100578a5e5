/** `node --expose-gc child.js <json>`: the app under test (task `server`), or a throttle's task without HTTP. */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import type { ExecutionContext, ModuleMetadata } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule, SimpleRateThrottle, type ThrottleRequest } from 'restflow-throttle';
import { DECISION_SECONDS } from './report';

const s = JSON.parse(process.argv[2]) as { task: string; platform: string; limiter: string; store: string } & {
  algorithm: 'sliding-log' | 'gcra';
  limit: number;
  keys: number;
  hits: number;
  redisPort: number;
};
const redis = s.store === 'redis' ? new Redis({ host: '127.0.0.1', port: s.redisPort }) : undefined;
const [DAY, clock] = [86_400, { now: 1_000_000 }];
let decide: (key: string) => boolean | PromiseLike<boolean>;

@Controller()
class HelloController {
  @Get() hello() {
    return { hello: 'world' };
  }
}

/** Admits every request, as the module's own guard would, and does nothing else. */
@Injectable()
class EmptyGuard {
  canActivate() {
    return true;
  }
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

/** The client as ours keys it with `numProxies: 1`: the last X-Forwarded-For address. */
const lastForwarded = (request: ThrottleRequest) =>
  String(request.headers['x-forwarded-for']).split(',').at(-1)!.trim();

/** What the bench calls of rate-limiter-flexible: `consume` resolves, or rejects with a RateLimiterRes when refused. */
type Flexible = { consume(key: string): Promise<unknown> };
type FlexibleOptions = { points: number; duration: number; storeClient?: Redis };
type FlexibleModule = Record<'RateLimiterMemory' | 'RateLimiterRedis', new (options: FlexibleOptions) => Flexible>;

/** rate-limiter-flexible as its users put it in Nest: a plain guard, keyed as the others, 429 with Retry-After. */
class FlexibleGuard {
  constructor(private readonly limiter: Flexible) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    try {
      await this.limiter.consume(lastForwarded(http.getRequest<ThrottleRequest>()));
      return true;
    } catch (refusal) {
      if (refusal instanceof Error) throw refusal; // the store failed: no refusal to answer
      const wait = Math.ceil((refusal as { msBeforeNext: number }).msBeforeNext / 1000);
      http.getResponse<{ header(name: string, value: string): unknown }>().header('Retry-After', String(wait));
      throw new HttpException('Too Many Requests', HttpStatus.TOO_MANY_REQUESTS);
    }
  }
}

/**
 * Every limiter keys on the last X-Forwarded-For address (the same work) and allows `s.limit` requests a minute:
 * 10^9 (every request) or, in the attack, 100.
 */
function limiterModule(): ModuleMetadata {
  if (s.limiter === 'none') return {};
  if (s.limiter.endsWith('-guard')) {
    return { providers: [{ provide: APP_GUARD, useClass: s.limiter === 'map-guard' ? MapGuard : EmptyGuard }] };
  }
  const ours = { defaultThrottles: [AnonRateThrottle], rates: { anon: `${s.limit}/min` }, numProxies: 1, cache: redis };
  if (s.limiter.startsWith('ours-')) return { imports: [RestflowThrottleModule.forRoot(ours)] };
  // The peers are installed in bench/competitors: the storage for @nestjs/throttler declares peers only up to Nest 11.
  const competitors = createRequire(`${process.cwd()}/bench/competitors/`);
  if (s.limiter.startsWith('rlf-')) {
    const { RateLimiterMemory, RateLimiterRedis } = competitors('rate-limiter-flexible') as FlexibleModule;
    const options = { points: s.limit, duration: 60 };
    const limiter = redis ? new RateLimiterRedis({ ...options, storeClient: redis }) : new RateLimiterMemory(options);
    return { providers: [{ provide: APP_GUARD, useFactory: () => new FlexibleGuard(limiter) }] };
  }
  const { ThrottlerStorageRedisService } = competitors('@nest-lab/throttler-storage-redis') as {
    ThrottlerStorageRedisService: new (client: Redis) => ThrottlerStorage;
  };
  // Keyed as ours is, through @nestjs/throttler's own hook.
  const throttler = ThrottlerModule.forRoot({
    throttlers: [{ ttl: 60_000, limit: s.limit }],
    storage: redis && new ThrottlerStorageRedisService(redis),
    getTracker: async (req) => lastForwarded(req as ThrottleRequest),
  });
  return { imports: [throttler], providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }] };
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
  if (s.task === 'decisions') {
    // allowed ones with the window kept exactly full and sliding; denied ones on a full one
    const step = DAY / (s.limit - 0.5); // each allowed decision expires one entry and records one
    // A log filled while sliding holds `limit` timestamps; a GCRA bucket is full after a burst at one instant.
    await run('hot', s.algorithm === 'gcra' ? 0 : step, true, s.limit);
    const allowed = await run('hot', step, true, Infinity, DECISION_SECONDS);
    while ((await decide('hot')) === true); // a sliding GCRA bucket drifts below full (a log does not): refill it
    return { 'allowed/s': allowed, 'denied/s': await run('hot', 0, false, Infinity, DECISION_SECONDS) };
  }
  if (s.task === 'memory') {
    // growth of the bytes in use over every hit of every key, all in one window
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
  if (s.task === 'server') {
    // prints its port once listening, then serves until killed
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
