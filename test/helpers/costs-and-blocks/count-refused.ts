/**
 * `countRefused`, run on every store (memory, get/set, Redis): with `false`, a request refused by one throttle
 * of its route is counted by none (the store's `hitAll()`), and a throttle with an `allowRequest()` of its own
 * is asked first, its refusal counting in no rate throttle; with the default (DRF), the throttles that allowed
 * a refused request count it. Two apps on one cache, each with clients of its own.
 */
import { PLATFORMS } from '../http-app';
import { newClient, startWeightedApp, type WeightedApp } from './app';
import type { SuiteCache } from './block-duration';
import { RATES, TogetherController } from './routes';

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
        { rates: RATES, countRefused: false },
        { controllers: [TogetherController] },
      );
      drf = await startWeightedApp(platform, env.cache, { rates: RATES }, { controllers: [TogetherController] });
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

    it('true: the rate throttle counts the requests the other throttle refused', async () => {
      const client = newClient('gated');
      expect(await drf.statuses(3, 'GET', '/together/gated?gate=closed', client)).toEqual([429, 429, 429]);
      expect((await drf.send('GET', '/together/gated', client)).status).toBe(429);
    });
  });
}
