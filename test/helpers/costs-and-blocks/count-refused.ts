/**
 * `countRefused`, run on every store (memory, get/set, Redis): with `false`, a request refused by one throttle
 * of its route is counted by none (the store's `hitAll()`), and a throttle with an `allowRequest()` of its own
 * is asked first, its refusal counting in no rate throttle; with the default (DRF), the throttles that allowed
 * a refused request count it. With `false`, a request refused by one throttle stores no key in the others (issue
 * 24 item 3: a made-up e-mail per request from a refused address), as the store itself shows: the memory
 * store's `has()`, Redis's `EXISTS`, a get/set cache's `get`. Two apps on one cache, each with clients of its own.
 */
import { Controller, Get } from '@nestjs/common';
import {
  type MemoryThrottleStore,
  SimpleRateThrottle,
  Throttle,
  type ThrottleCacheLike,
  type ThrottleRequest,
  ThrottleStores,
} from 'restflow-throttle';
import { PLATFORMS } from '../http-app';
import { newClient, startWeightedApp, type WeightedApp } from './app';
import type { SuiteCache } from './block-duration';
import { RATES, ShortThrottle, TogetherController } from './routes';

/** Keyed on the request's `?email=`, as a password-reset route is: a made-up e-mail is a new key. */
class ResetThrottle extends SimpleRateThrottle {
  override scope = 'reset';
  getCacheKey(request: ThrottleRequest): string | null {
    const email = (request as ThrottleRequest & { query?: { email?: string } }).query?.email;
    return email === undefined ? null : this.formatKey(email);
  }
}

/** The address's 1/s throttle beside the e-mail's 5/hour one. */
@Controller('refused')
class ResetController {
  @Get('reset') @Throttle([ShortThrottle, ResetThrottle]) reset() {
    return { ok: true };
  }
}

const SCENARIO_RATES = { ...RATES, reset: '5/hour' };
const CONTROLLERS = [TogetherController, ResetController];

/** The key ResetThrottle counts an e-mail under. */
const resetKey = (email: string) => new ResetThrottle().formatKey(email);

/** The Redis client behind a suite's cache (given as is, or under cache-manager-ioredis-yet), if it is one. */
function redisOf(cache: ThrottleCacheLike): { exists(key: string): Promise<number> } | undefined {
  const given = cache as { exists?: unknown; store?: { client?: { exists?: unknown } } };
  if (typeof given.exists === 'function') return given as { exists(key: string): Promise<number> };
  const client = given.store?.client;
  return typeof client?.exists === 'function' ? (client as { exists(key: string): Promise<number> }) : undefined;
}

/** Whether the app's store holds `key`: the memory store's `has()`, Redis's `EXISTS`, else the cache's `get`. */
async function holds(app: WeightedApp, cache: ThrottleCacheLike | undefined, key: string): Promise<boolean> {
  if (cache === undefined) {
    const stores = app.t.app.get(ThrottleStores, { strict: false });
    return (stores.defaultCache as MemoryThrottleStore).has(key);
  }
  const redis = redisOf(cache);
  if (redis !== undefined) return (await redis.exists(key)) > 0;
  return ((await (cache as { get(key: string): Promise<unknown> }).get(key)) ?? undefined) !== undefined;
}

export function describeCountRefused(name: string, makeCache: () => Promise<SuiteCache>): void {
  describe.each(PLATFORMS)(`countRefused on ${name} (%s)`, (platform) => {
    let none: WeightedApp;
    let drf: WeightedApp;
    let env: SuiteCache;
    beforeAll(async () => {
      env = await makeCache();
      none = await startWeightedApp(
        platform,
        env.cache,
        { rates: SCENARIO_RATES, countRefused: false },
        { controllers: CONTROLLERS },
      );
      drf = await startWeightedApp(platform, env.cache, { rates: SCENARIO_RATES }, { controllers: CONTROLLERS });
    });
    afterAll(async () => {
      await none?.close();
      await drf?.close();
      await env?.close?.();
    });

    it('false: a request refused by the 1/s throttle is not counted by the 3/min one', async () => {
      const client = newClient('multi');
      const get = () => none.send('GET', '/together/multi', client);
      expect(await get()).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-long': '2' } });
      expect(await get()).toMatchObject({
        status: 429,
        headers: { 'retry-after': '1', 'retry-after-short': '1', 'x-ratelimit-remaining-long': '2' },
      });
      none.clock.advance(1);
      expect(await get()).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-long': '1' } });
      none.clock.advance(1);
      expect(await get()).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-long': '0' } });
      none.clock.advance(1);
      expect(await get()).toMatchObject({ status: 429, headers: { 'retry-after': '57', 'retry-after-long': '57' } });
      none.clock.advance(57);
      expect((await get()).status).toBe(200);
    });

    it('true (DRF, the default): the 3/min throttle counts the request the 1/s one refused', async () => {
      const client = newClient('multi');
      const get = () => drf.send('GET', '/together/multi', client);
      expect(await get()).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-long': '2' } });
      expect(await get()).toMatchObject({ status: 429, headers: { 'x-ratelimit-remaining-long': '1' } });
      drf.clock.advance(1);
      expect(await get()).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining-long': '0' } });
      drf.clock.advance(1);
      expect(await get()).toMatchObject({ status: 429, headers: { 'retry-after-long': '58' } });
    });

    it('false: a throttle of its own is asked first, and its refusal counts in no rate throttle', async () => {
      const client = newClient('gated');
      for (let i = 0; i < 3; i++) {
        const refused = await none.send('GET', '/together/gated?gate=closed', client);
        expect(refused).toMatchObject({ status: 429, body: { detail: 'Request was throttled.' } });
        expect(refused.headers['x-ratelimit-remaining']).toBeUndefined();
      }
      expect(await none.statuses(3, 'GET', '/together/gated', client)).toEqual([200, 200, 200]);
      expect(await none.send('GET', '/together/gated', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '60' },
      });
    });

    it('false: a request refused by one throttle stores no key in the others (a made-up e-mail each)', async () => {
      const client = newClient('reset');
      const reset = (email: string) => none.send('GET', `/refused/reset?email=${encodeURIComponent(email)}`, client);
      expect((await reset(`${client}@example.com`)).status).toBe(200);
      expect(await holds(none, env.cache, resetKey(`${client}@example.com`))).toBe(true);
      for (let i = 0; i < 3; i++) {
        const madeUp = `${client}-${i}@example.com`;
        expect((await reset(madeUp)).status).toBe(429);
        expect(await holds(none, env.cache, resetKey(madeUp))).toBe(false);
      }
    });

    it('true: the throttles that allowed a refused request store its key (bounded per scope)', async () => {
      const client = newClient('reset');
      const reset = (email: string) => drf.send('GET', `/refused/reset?email=${encodeURIComponent(email)}`, client);
      expect((await reset(`${client}@example.com`)).status).toBe(200);
      const madeUp = `${client}-0@example.com`;
      expect((await reset(madeUp)).status).toBe(429);
      expect(await holds(drf, env.cache, resetKey(madeUp))).toBe(true);
    });

    it('true: the rate throttle counts the requests the other throttle refused', async () => {
      const client = newClient('gated');
      expect(await drf.statuses(3, 'GET', '/together/gated?gate=closed', client)).toEqual([429, 429, 429]);
      expect((await drf.send('GET', '/together/gated', client)).status).toBe(429);
    });
  });
}
