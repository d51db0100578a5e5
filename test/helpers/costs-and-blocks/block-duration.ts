/**
 * `blockDuration` scenarios, run on every store (memory, get/set, Redis): once refused, a client stays refused
 * for the block, never less than until it has room again; refused requests meanwhile neither count nor extend
 * the block; `Retry-After` and `X-RateLimit-*` say when it ends. Both algorithms.
 */
import type { ThrottleCacheLike } from 'restflow-throttle';
import { PLATFORMS } from '../http-app';
import { newClient, startWeightedApp, type WeightedApp } from './app';
import { BLOCK_DURATIONS, BlocksController, RATES } from './routes';

/** A suite's cache, and how to let go of it. */
export interface SuiteCache {
  cache?: ThrottleCacheLike;
  close?(): Promise<void>;
}

export function describeBlockDuration(name: string, makeCache: () => Promise<SuiteCache>): void {
  describe.each(PLATFORMS)(`blockDuration on ${name} (%s)`, (platform) => {
    let app: WeightedApp;
    let env: SuiteCache;
    beforeAll(async () => {
      env = await makeCache();
      app = await startWeightedApp(
        platform,
        env.cache,
        { rates: RATES, blockDurations: BLOCK_DURATIONS },
        { controllers: [BlocksController] },
      );
    });
    afterAll(async () => {
      await app?.close();
      await env?.close?.();
    });

    it("the module's blockDurations: refused for 15 minutes past a 1-minute window, the headers say so", async () => {
      const client = newClient('login');
      for (const left of ['2', '1', '0']) {
        expect(await app.send('POST', '/blocks/login', client)).toMatchObject({
          status: 201,
          headers: { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': left },
        });
      }
      expect(await app.send('POST', '/blocks/login', client)).toMatchObject({
        status: 429,
        body: { detail: 'Request was throttled. Expected available in 900 seconds.' },
        headers: { 'retry-after': '900', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '900' },
      });
      app.clock.advance(60);
      // The window has room again; the block holds, and the request refused in it does not extend it.
      expect(await app.send('POST', '/blocks/login', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '840', 'x-ratelimit-reset': '840' },
      });
      app.clock.advance(839);
      expect(await app.send('POST', '/blocks/login', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '1' },
      });
      app.clock.advance(1);
      expect(await app.send('POST', '/blocks/login', client)).toMatchObject({
        status: 201,
        headers: { 'x-ratelimit-remaining': '2' },
      });
    });

    it('other clients are not blocked', async () => {
      const blocked = newClient('login');
      await app.statuses(4, 'POST', '/blocks/login', blocked);
      expect(await app.statuses(3, 'POST', '/blocks/login', newClient('login'))).toEqual([201, 201, 201]);
    });

    it("a throttle's own blockDuration wins over the module's, and holds past the time there is room", async () => {
      const client = newClient('pin');
      expect((await app.send('POST', '/blocks/pin', client)).status).toBe(201);
      app.clock.advance(40);
      expect((await app.send('POST', '/blocks/pin', client)).status).toBe(201);
      // Room again at +60 (20 s from now); PinThrottle's own 30 s block (not blockDurations.pin's 15 min) ends at +70.
      expect(await app.send('POST', '/blocks/pin', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '30' },
      });
      app.clock.advance(20);
      expect(await app.send('POST', '/blocks/pin', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '10' },
      });
      app.clock.advance(10);
      expect((await app.send('POST', '/blocks/pin', client)).status).toBe(201);
    });

    it('a block shorter than the wait for room ends with it: Retry-After is the later of the two', async () => {
      const client = newClient('pin');
      expect(await app.statuses(2, 'POST', '/blocks/pin', client)).toEqual([201, 201]);
      expect(await app.send('POST', '/blocks/pin', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '60' },
      });
      app.clock.advance(60);
      expect((await app.send('POST', '/blocks/pin', client)).status).toBe(201);
    });

    it('GCRA blocks too (blockDurations given in seconds)', async () => {
      const client = newClient('smooth');
      expect(await app.statuses(3, 'POST', '/blocks/smooth-login', client)).toEqual([201, 201, 201]);
      expect(await app.send('POST', '/blocks/smooth-login', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '300', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '300' },
      });
      app.clock.advance(299);
      expect(await app.send('POST', '/blocks/smooth-login', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '1' },
      });
      app.clock.advance(1);
      expect((await app.send('POST', '/blocks/smooth-login', client)).status).toBe(201);
    });

    it("a scope without a block keeps DRF's rule: back when the oldest request leaves the window", async () => {
      const client = newClient('plain');
      expect(await app.statuses(2, 'POST', '/blocks/plain', client)).toEqual([201, 201]);
      app.clock.advance(30);
      expect(await app.send('POST', '/blocks/plain', client)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '30' },
      });
      app.clock.advance(30);
      expect((await app.send('POST', '/blocks/plain', client)).status).toBe(201);
    });
  });
}
