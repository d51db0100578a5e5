/**
 * Weighted requests, run on every store (memory, get/set, Redis): `@ThrottleCost()` as a number (on a class,
 * a method's own winning), a function of the body and an async one, and a throttle's `getRequestCost()`
 * winning over the decorator; both algorithms. A request is admitted only if its whole cost fits, and
 * `X-RateLimit-Remaining` counts costs. Cost 0 looks without counting; a cost above the limit is refused with
 * no `Retry-After` and counts nothing; a bad cost fails that request (500) and counts nothing.
 */
import { PLATFORMS } from '../http-app';
import { newClient, startWeightedApp, type WeightedApp } from './app';
import type { SuiteCache } from './block-duration';
import { CostsController, RATES, ReportsController } from './routes';

const bulk = (n: number) => ({ items: Array.from({ length: n }, (_, i) => i) });

export function describeRequestCost(name: string, makeCache: () => Promise<SuiteCache>): void {
  describe.each(PLATFORMS)(`request costs on ${name} (%s)`, (platform) => {
    let app: WeightedApp;
    let env: SuiteCache;
    beforeAll(async () => {
      env = await makeCache();
      app = await startWeightedApp(
        platform,
        env.cache,
        { rates: RATES },
        { controllers: [CostsController, ReportsController] },
      );
    });
    afterAll(async () => {
      await app?.close();
      await env?.close?.();
    });

    it('a bulk call counts its items: admitted only if all fit, Remaining counts them, exact Retry-After', async () => {
      const client = newClient('bulk');
      const post = (n: number) => app.send('POST', '/costs/bulk', client, bulk(n));
      expect(await post(4)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '6' } });
      app.clock.advance(10);
      expect(await post(5)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '1' } });
      // 2 do not fit in the 1 left: refused, counting nothing, until the 4 of the first call leave (50 s).
      expect(await post(2)).toMatchObject({
        status: 429,
        headers: { 'retry-after': '50', 'x-ratelimit-remaining': '0' },
      });
      expect(await post(1)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
      app.clock.advance(50);
      expect(await post(4)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
      expect(await post(1)).toMatchObject({ status: 429, headers: { 'retry-after': '10' } });
    });

    it('cost 0 looks without counting: admitted while there is room for one, refused at the limit', async () => {
      const client = newClient('bulk');
      const post = (n: number) => app.send('POST', '/costs/bulk', client, bulk(n));
      expect(await post(0)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '10' } });
      expect(await post(10)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
      expect((await post(0)).status).toBe(429);
    });

    it('a cost above the limit is refused with no Retry-After, and counts nothing', async () => {
      const client = newClient('bulk');
      const refused = await app.send('POST', '/costs/bulk', client, bulk(11));
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ detail: 'Request was throttled.' });
      expect(refused.headers['retry-after']).toBeUndefined();
      expect(await app.send('POST', '/costs/bulk', client, bulk(10))).toMatchObject({ status: 201 });
    });

    it.each([['x'], [2.5], [-1], [null]])(
      'a cost of %p fails that request with a 500 saying why; nothing is counted',
      async (count) => {
        const client = newClient('count');
        const failed = await app.send('POST', '/costs/count', client, { count });
        expect(failed.status).toBe(500);
        expect(failed.body).toEqual({
          detail: expect.stringMatching(
            /^The request cost on CostsController\.count \(BulkThrottle\) must be a whole number >= 0, got /,
          ),
        });
        expect(await app.send('POST', '/costs/count', client, { count: 10 })).toMatchObject({
          status: 201,
          headers: { 'x-ratelimit-remaining': '0' },
        });
      },
    );

    it('an async cost is awaited', async () => {
      const client = newClient('async');
      const post = (n: number) => app.send('POST', '/costs/bulk-async', client, bulk(n));
      expect(await post(6)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '4' } });
      expect(await post(5)).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
      expect(await post(4)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
    });

    it("a class's @ThrottleCost(5) holds for its handlers; a method's own wins", async () => {
      const client = newClient('reports');
      expect(await app.send('GET', '/reports/summary', client)).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '5' },
      });
      expect(await app.send('GET', '/reports/row', client)).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '4' },
      });
      expect((await app.send('GET', '/reports/summary', client)).status).toBe(429);
      expect(await app.statuses(4, 'GET', '/reports/row', client)).toEqual([200, 200, 200, 200]);
    });

    it("a throttle's getRequestCost() wins over the route's @ThrottleCost()", async () => {
      const client = newClient('query');
      const query = (complexity: number) =>
        fetch(`${app.t.url}/costs/query`, { headers: { 'x-client': client, 'x-complexity': String(complexity) } });
      const remaining = async (complexity: number) => {
        const response = await query(complexity);
        return [response.status, response.headers.get('x-ratelimit-remaining')];
      };
      expect(await remaining(30)).toEqual([200, '70']);
      expect(await remaining(30)).toEqual([200, '40']);
      expect(await remaining(30)).toEqual([200, '10']);
      expect(await remaining(30)).toEqual([429, '0']);
      expect(await remaining(10)).toEqual([200, '0']);
    });

    it('a bad getRequestCost() answer names the route it was asked on', async () => {
      const client = newClient('query');
      for (const path of ['/costs/query', '/costs/query-again']) {
        const response = await fetch(`${app.t.url}${path}`, {
          headers: { 'x-client': client, 'x-complexity': 'lots' },
        });
        const route = path === '/costs/query' ? 'CostsController.query' : 'CostsController.queryAgain';
        expect([response.status, await response.json()]).toEqual([
          500,
          { detail: `The request cost on ${route} (ComplexityThrottle) must be a whole number >= 0, got NaN.` },
        ]);
      }
    });

    it('GCRA counts costs: a burst of the whole limit, then each unit after its interval (6 s)', async () => {
      const client = newClient('smooth');
      const post = (n: number) => app.send('POST', '/costs/smooth-bulk', client, bulk(n));
      expect(await post(10)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
      expect(await post(1)).toMatchObject({ status: 429, headers: { 'retry-after': '6' } });
      app.clock.advance(6);
      expect(await post(2)).toMatchObject({ status: 429, headers: { 'retry-after': '6' } });
      expect(await post(1)).toMatchObject({ status: 201, headers: { 'x-ratelimit-remaining': '0' } });
      app.clock.advance(12);
      expect((await post(2)).status).toBe(201);
    });
  });
}
