/**
 * Nest's own cache module (`@nestjs/cache-manager` 12, a cache-manager 7
 * cache over Keyv stores) as the throttle cache, handed over with
 * `forRootAsync({ inject: [CACHE_MANAGER], useFactory: (cache) => ({ cache }) })`:
 * with its in-memory default, and with `@keyv/redis`, where every decision
 * is one Lua script on the server (EVALSHA), not a get and a set.
 */
import KeyvRedis from '@keyv/redis';
import { Controller, Get, Inject } from '@nestjs/common';
import { CACHE_MANAGER, CacheModule, Keyv, type Cache } from 'restflow-fixture-nest-cache-manager';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { AppModule as MemoryExample } from './clients-nest-cache-manager/examples/cache-module-memory';
import { AppModule as KeyvRedisExample } from './clients-nest-cache-manager/examples/cache-module-keyv-redis';
import { AppModule as KeyvValkeyExample } from './clients-nest-cache-manager/examples/cache-module-keyv-valkey';
import { RedisServer } from '../helpers/redis-server';

@Controller()
class View {
  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  @Get()
  @Throttle([AnonRateThrottle])
  get() {
    return 'ok';
  }

  /** The app's own use of the same CACHE_MANAGER keeps working beside the throttles. */
  @Get('remember')
  @Throttle([])
  async remember() {
    await this.cache.set('remembered', 'yes', 60_000);
    return { remembered: await this.cache.get('remembered') };
  }
}

const throttles = RestflowThrottleModule.forRootAsync({
  inject: [CACHE_MANAGER],
  // A generous deadline: a hit timed out on a loaded machine would be let through and spoil the count.
  useFactory: (cache: Cache) => ({ rates: { anon: '50/min' }, numProxies: 1, cacheTimeoutMs: 10_000, cache }),
});

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
  // Read by the docs' example modules when the app starts.
  process.env.REDIS_URL = server.url;
  process.env.VALKEY_URL = server.url;
});
afterAll(() => server?.dispose());

/** `requests` concurrent requests from one client; the statuses, counted. */
async function burst(t: TestApp, client: string, requests = 200): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  await Promise.all(
    Array.from({ length: requests }, async () => {
      const { status } = await t.request('/', { headers: { 'x-forwarded-for': client } });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }),
  );
  return statuses;
}

describe.each(PLATFORMS)('Nest CacheModule as the throttle cache, on %s', (platform) => {
  it('in-memory default (CacheModule.register()): exactly 50 of 200 concurrent requests', async () => {
    const t = await startApp(platform, {
      imports: [CacheModule.register({ isGlobal: true }), throttles],
      controllers: [View],
    });
    try {
      expect(await burst(t, '203.0.113.1')).toEqual({ 200: 50, 429: 150 });
      const denied = await t.request('/', { headers: { 'x-forwarded-for': '203.0.113.1' } });
      expect(denied.status).toBe(429);
      expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await t.request('/remember')).body).toEqual({ remembered: 'yes' });
    } finally {
      await t.close();
    }
  });

  it('on @keyv/redis (CacheModule.registerAsync): exactly 50 of 200, decided by the script (no get/set)', async () => {
    const t = await startApp(platform, {
      imports: [
        CacheModule.registerAsync({
          isGlobal: true,
          useFactory: () => ({ stores: [new Keyv({ store: new KeyvRedis(server.url) }).on('error', () => undefined)] }),
        }),
        throttles,
      ],
      controllers: [View],
    });
    try {
      const before = await server.commandCalls();
      const client = `${platform}-keyv-redis`;
      expect(await burst(t, client)).toEqual({ 200: 50, 429: 150 });
      const after = await server.commandCalls();
      const calls = (command: string) => (after.get(command) ?? 0) - (before.get(command) ?? 0);
      // One EVALSHA per batch (the first one is retried as EVAL on a fresh server): at most one per request.
      expect(calls('evalsha')).toBeGreaterThanOrEqual(1);
      expect(calls('evalsha')).toBeLessThanOrEqual(200);
      expect(calls('get') + calls('set')).toBe(0);
      expect((await t.request('/remember')).body).toEqual({ remembered: 'yes' });
      expect(await server.command('KEYS', '*')).toEqual(expect.arrayContaining([expect.stringContaining(client)]));
    } finally {
      await t.close();
    }
  });
});

@Controller()
class Plain {
  @Get()
  get() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('the example modules of docs/caches.md, run as written, on %s', (platform) => {
  beforeEach(() => server.command('FLUSHALL'));

  it.each([
    ['CacheModule in memory', MemoryExample, false],
    ['CacheModule on @keyv/redis', KeyvRedisExample, true],
    ['CacheModule on @keyv/valkey', KeyvValkeyExample, true],
  ])('%s: exactly 100 of 150 concurrent requests at 100/hour', async (_name, example, onRedis) => {
    const t = await startApp(platform, { imports: [example], controllers: [Plain] });
    try {
      const before = (await server.commandCalls()).get('evalsha') ?? 0;
      // numProxies unset in the examples: every request is 127.0.0.1.
      expect(await burst(t, 'ignored', 150)).toEqual({ 200: 100, 429: 50 });
      const evalsha = ((await server.commandCalls()).get('evalsha') ?? 0) - before;
      // On Redis, one script per batch of concurrent requests; in memory, none.
      if (onRedis) expect(evalsha).toBeGreaterThanOrEqual(1);
      expect(evalsha).toBeLessThanOrEqual(onRedis ? 150 : 0);
    } finally {
      await t.close();
    }
  });
});
