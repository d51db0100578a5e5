/**
 * Redis Sentinel (docs/caches.md, "Redis Sentinel"): an ioredis client built
 * with `sentinels` is given to the module, on Express and on Fastify. The
 * test's own master, replica and three sentinels run on loopback ports; the
 * master is SIGKILLed while a few clients keep sending requests. During the
 * failover the outage policy answers ('allow': 200, never a 500); once the
 * sentinels have promoted the replica and ioredis has followed, a new client
 * is limited exactly again: 30 admitted of 40 at `30/min`.
 *
 * node-redis has a Sentinel client (`createSentinel()`), but the node-redis
 * adapter does not drive it (its `sendCommand` takes other arguments, see
 * lib/stores/redis/clients/node-redis.ts), so it has no case here.
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type Platform, type TestApp } from '../helpers/http-app';
import { RedisSentinelSetup, SENTINEL_MASTER_NAME } from '../helpers/redis-sentinel';
import { until } from '../helpers/until';

const LIMIT = 30;
const TIMEOUT_MS = 300;

@Controller()
class View {
  @Get()
  get() {
    return 'ok';
  }
}

interface SentinelApp {
  platform: Platform;
  redis: Redis;
  /** The module's outage events, in order: per app, where Nest's logger is one for the whole process. */
  outages: Array<'down' | 'up'>;
  t: TestApp;
}

describe('Redis Sentinel through ioredis: the master is killed under load', () => {
  let setup: RedisSentinelSetup;
  const apps: SentinelApp[] = [];
  const logger = new CapturingLogger();

  beforeAll(async () => {
    setup = await RedisSentinelSetup.start({ sentinels: 3, downAfterMs: 500, failoverTimeoutMs: 2000 });
    for (const platform of PLATFORMS) {
      const redis = new Redis({ sentinels: setup.sentinels, name: SENTINEL_MASTER_NAME });
      redis.on('error', () => undefined);
      const outages: SentinelApp['outages'] = [];
      const throttling = RestflowThrottleModule.forRoot({
        defaultThrottles: [AnonRateThrottle],
        rates: { anon: `${LIMIT}/min` },
        numProxies: 1,
        cacheTimeoutMs: TIMEOUT_MS,
        cache: redis,
        events: { cacheOutage: (event) => outages.push(event.state) },
      });
      const t = await startApp(platform, { imports: [throttling], controllers: [View] }, logger);
      apps.push({ platform, redis, outages, t });
      await until(`the ${platform} app's ioredis client reaches the master`, () => redis.status === 'ready');
    }
  }, 25_000);

  afterAll(async () => {
    for (const app of apps) {
      await app.t.close();
      app.redis.disconnect();
    }
    await setup?.dispose();
  });

  /** How many of `count` concurrent requests from one new client were admitted (any other answer fails). */
  const admittedOf = async (app: SentinelApp, client: string, count: number) => {
    const headers = { 'x-forwarded-for': client };
    const request = async () => (await app.t.request('/', { headers })).status;
    const statuses = await Promise.all(Array.from({ length: count }, request));
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    return statuses.filter((status) => status === 200).length;
  };

  it('answers only 200 or 429 throughout, and counts exactly again once the replica is promoted', async () => {
    for (const app of apps) expect(await admittedOf(app, `10.1.0.${apps.indexOf(app)}`, 40)).toBe(LIMIT);

    // A few clients per app, each sending one request after another, until told to stop (or 25 s at most,
    // so that nothing outlives a test that failed in between).
    const statuses: Array<{ platform: Platform; status: number; at: number }> = [];
    const loadEnds = Date.now() + 25_000;
    let stopped = false;
    // Clients 1 and 2 soon exceed their limit (then the module answers them from its refusal cache, without
    // Redis); client 3 is a new address on every request, as new visitors are, so hits keep reaching Redis.
    const loops = apps.flatMap((app, a) =>
      [1, 2, 3].map(async (c) => {
        let visitor = 0;
        while (!stopped && Date.now() < loadEnds) {
          visitor++;
          const address = c === 3 ? `10.${5 + a}.${(visitor >> 8) & 255}.${visitor & 255}` : `10.2.${a}.${c}`;
          const headers = { 'x-forwarded-for': address };
          // A failed request (connection refused, reset) is recorded as status 0 rather than thrown.
          const status = await app.t.request('/', { headers }).then(
            (response) => response.status,
            () => 0,
          );
          statuses.push({ platform: app.platform, status, at: Date.now() });
          await sleep(5);
        }
      }),
    );
    try {
      await sleep(300);
      const killedAt = Date.now();
      await setup.master.stop('SIGKILL');
      await setup.waitForPromotion(10_000);
      // Counting resumes when ioredis has followed the sentinels to the new master; the module
      // says so once the cache has answered after a quiet second.
      const recovered = () => apps.every((app) => app.outages.includes('up'));
      await until('both apps report the cache available again', recovered, 8000).catch((error: Error) => {
        const seen = apps.map((app) => `${app.platform}: ioredis ${app.redis.status}, ${app.outages.join(' ')}`);
        throw new Error(`${error.message}\n${seen.join('\n')}\n${logger.warnings.join('\n')}`);
      });
      expect(statuses.filter((answer) => answer.at > killedAt).length).toBeGreaterThan(0);
    } finally {
      stopped = true;
      await Promise.all(loops);
    }

    const notAllowed = statuses.filter((answer) => answer.status !== 200 && answer.status !== 429);
    expect(notAllowed).toEqual([]);
    for (const app of apps) {
      expect(app.outages[0]).toBe('down');
      expect(await admittedOf(app, `10.3.0.${apps.indexOf(app)}`, 40)).toBe(LIMIT);
    }
    expect(logger.errors).toEqual([]);
  }, 30_000);
});
