/** The Redis path itself: detection, the LIST layout and TTL, the server's clock, NOSCRIPT reload, constant cost. */
import { Controller, Get } from '@nestjs/common';
import { caching } from 'cache-manager';
import { redisInsStore, redisStore } from 'cache-manager-ioredis-yet';
import { Cluster, Redis } from 'ioredis';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleCache } from 'restflow-throttle';
import { startApp, type TestApp } from '../helpers/http-app';
import { ioredisClientOf, type IoredisLike } from '../../lib/stores/redis/clients/ioredis';
import { RedisServer } from '../helpers/redis-server';
import { ClientHeaderThrottle } from '../helpers/store-contract';

class Small extends ClientHeaderThrottle {
  override scope = 'small';
}
class Big extends ClientHeaderThrottle {
  override scope = 'big';
}
/** Counts in the cache registered under the alias `shared`. */
class Aliased extends ClientHeaderThrottle {
  override scope = 'aliased';
  override cache = 'shared';
}

@Controller()
class Views {
  @Get('small') @Throttle([Small]) small() {
    return 'ok';
  }
  @Get('big') @Throttle([Big]) big() {
    return 'ok';
  }
  @Get('aliased') @Throttle([Aliased]) aliased() {
    return 'ok';
  }
}

@Controller()
class SmallOnly {
  @Get('small') @Throttle([Small]) small() {
    return 'ok';
  }
}

const RATES = { small: '10/min', big: '100000/hour', aliased: '2/min' };

let server: RedisServer;
let client: Redis;
let aliasClient: Redis | undefined;
let t: TestApp;

beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis({ host: '127.0.0.1', port: server.port });
  // The alias uses the other constructor of cache-manager-ioredis-yet, with its own connection.
  const shared = await redisStore({ host: '127.0.0.1', port: server.port });
  aliasClient = shared.client as Redis;
  t = await startApp('express', {
    imports: [
      RestflowThrottleModule.forRoot({
        rates: RATES,
        cache: await caching(redisInsStore(client)),
        caches: { shared: (await caching(shared)) as ThrottleCache },
      }),
    ],
    controllers: [Views],
  });
});

afterAll(async () => {
  await t?.close();
  await client?.quit();
  await aliasClient?.quit();
  await server?.dispose();
});

const hit = (path: string, who: string) => t.request(`/${path}`, { headers: { 'x-client': who } });
const serverSeconds = async () => {
  const [seconds, micros] = (await server.command('TIME')) as [string, string];
  return Number(seconds) + Number(micros) / 1e6;
};
const commandDelta = async (action: () => Promise<unknown>) => {
  const before = await server.commandCalls();
  await action();
  const after = await server.commandCalls();
  const delta: Record<string, number> = {};
  for (const [name, calls] of after) {
    const d = calls - (before.get(name) ?? 0);
    if (d > 0 && name !== 'info') delta[name] = d;
  }
  return delta;
};

it('finds the ioredis client behind cache-manager-ioredis-yet, and only there', async () => {
  // Checked by tsc: ioredis' clients fit the structural type the library declares instead of importing ioredis.
  const fits: Array<(client: Redis | Cluster) => IoredisLike> = [(c) => c];
  expect(fits).toHaveLength(1);
  expect(ioredisClientOf(await caching(redisInsStore(client)))).toBe(client);
  expect(ioredisClientOf(client)).toBe(client);
  expect(ioredisClientOf(await caching('memory', { ttl: 0 }))).toBeUndefined();
  expect(ioredisClientOf({ store: { client: { get: async () => undefined } } })).toBeUndefined(); // not a Redis client
});

it('keeps each bucket as a LIST of timestamps under throttle_{scope}_{ident}, alive for the duration and at most an eighth more', async () => {
  for (let i = 0; i < 3; i++) expect((await hit('small', 'layout')).status).toBe(200);
  expect(await server.command('TYPE', 'throttle_small_layout')).toBe('list');
  const stamps = (await server.command('LRANGE', 'throttle_small_layout', '0', '-1')) as string[];
  expect(stamps).toHaveLength(3);
  for (const stamp of stamps) expect(stamp).toMatch(/^\d+\.\d{6}$/);
  expect([...stamps].sort()).toEqual([...stamps].reverse()); // newest at the head
  const ttl = Number(await server.command('PTTL', 'throttle_small_layout'));
  expect(ttl).toBeGreaterThan(55_000);
  expect(ttl).toBeLessThanOrEqual(60_000 + 7_500); // to the end of the newest stamp's eighth of the minute, plus a minute
});

it("times requests with the server's TIME, not the process clock", async () => {
  // Skew this process's clock by an hour: a store using it would write stamps an hour off.
  const realNow = performance.now.bind(performance);
  const skewed = jestSpy(performance, 'now', () => realNow() + 3_600_000);
  try {
    expect((await hit('small', 'clock')).status).toBe(200);
  } finally {
    skewed.restore();
  }
  const [stamp] = (await server.command('LRANGE', 'throttle_small_clock', '0', '0')) as string[];
  expect(Math.abs(Number(stamp) - (await serverSeconds()))).toBeLessThan(5);
});

it("keeps the server's clock when timer() is replaced; only the module's clock option replaces it", async () => {
  // A spy on the prototype drives stores that count on the process's time, not Redis: processes must agree.
  const spy = jestSpy(SimpleRateThrottle.prototype, 'timer', () => 1234.5);
  try {
    expect((await hit('small', 'spied')).status).toBe(200);
  } finally {
    spy.restore();
  }
  const [stamp] = (await server.command('LRANGE', 'throttle_small_spied', '0', '0')) as string[];
  expect(Math.abs(Number(stamp) - (await serverSeconds()))).toBeLessThan(5);

  const clocked = await startApp('express', {
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: client, clock: () => 1234.5 })],
    controllers: [SmallOnly],
  });
  try {
    expect((await clocked.request('/small', { headers: { 'x-client': 'clocked' } })).status).toBe(200);
  } finally {
    await clocked.close();
  }
  expect(await server.command('LRANGE', 'throttle_small_clocked', '0', '-1')).toEqual(['1234.5']);
});

it('finds the client behind redisStore() given as a named alias', async () => {
  const delta = await commandDelta(async () => {
    expect((await hit('aliased', 'alias')).status).toBe(200);
    expect((await hit('aliased', 'alias')).status).toBe(200);
    expect((await hit('aliased', 'alias')).status).toBe(429);
  });
  expect(await server.command('LLEN', 'throttle_aliased_alias')).toBe(2);
  expect(delta.get ?? 0).toBe(0);
  expect(delta.set ?? 0).toBe(0);
});

it('reloads the script after SCRIPT FLUSH (NOSCRIPT), still counting exactly', async () => {
  expect((await hit('small', 'noscript')).status).toBe(200);
  await server.command('SCRIPT', 'FLUSH');
  const delta = await commandDelta(async () => {
    for (let i = 0; i < 9; i++) expect((await hit('small', 'noscript')).status).toBe(200);
    expect((await hit('small', 'noscript')).status).toBe(429);
  });
  expect(delta.eval).toBe(1); // once, after the NOSCRIPT answer...
  expect(delta.evalsha).toBe(10); // ...and EVALSHA every time
});

it('replaces a key of another type left under a throttle key', async () => {
  await server.command('SET', 'throttle_small_typed', '[1,2,3]');
  expect((await hit('small', 'typed')).status).toBe(200);
  expect(await server.command('LLEN', 'throttle_small_typed')).toBe(1);
});

it('costs the same Redis commands at a limit of 100000 with a full log as at a limit of 10', async () => {
  const now = Math.floor(await serverSeconds());
  const fill = async (key: string, n: number) => {
    for (let done = 0; done < n; done += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, n - done) }, () => `${now - 10}.000000`);
      await server.command('LPUSH', key, ...chunk);
    }
  };
  await fill('throttle_big_full', 99_999);
  await fill('throttle_small_full', 9);
  const bigCost = await commandDelta(async () => {
    expect((await hit('big', 'full')).status).toBe(200); // the 100000th
    expect((await hit('big', 'full')).status).toBe(429);
  });
  const smallCost = await commandDelta(async () => {
    expect((await hit('small', 'full')).status).toBe(200); // the 10th
    expect((await hit('small', 'full')).status).toBe(429);
  });
  expect(await server.command('LLEN', 'throttle_big_full')).toBe(100_000);
  // The expiry is written when the new stamp starts a slice of the duration, which the filled stamps' time decides.
  const { pexpire: bigExpiries = 0, ...bigReads } = bigCost;
  const { pexpire: smallExpiries = 0, ...smallReads } = smallCost;
  expect(bigReads).toEqual(smallReads);
  expect([bigExpiries, smallExpiries].every((n) => n <= 1)).toBe(true);
  expect(bigCost.evalsha).toBe(2);
});

/** A minimal spy: jest's global is not injected in ESM mode, and this is all these tests need. */
function jestSpy<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): { restore(): void } {
  const original = target[key];
  target[key] = replacement;
  return { restore: () => (target[key] = original) };
}
