/**
 * Docs: cache backend, `IsolatedThrottle` with its counters in the
 * `throttling` cache alias, on `GET /search`, sample/cache-backend. Rate 5/min.
 */
import type { Cache } from 'cache-manager';
import { RESTFLOW_THROTTLE_CACHE } from 'restflow-throttle';
import type { SampleCaches } from '../../sample/cache';
import { SAMPLE_CACHES } from '../../sample/cache-backend/sample-caches.module';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('IsolatedThrottle on %s', (platform) => {
  const t = useSample(platform);
  let defaultCache: Cache;
  let throttlingCache: Cache;
  beforeAll(() => {
    defaultCache = t.app.get(RESTFLOW_THROTTLE_CACHE) as Cache;
    throttlingCache = t.app.get<SampleCaches>(SAMPLE_CACHES).caches.throttling;
  });

  it('throttles search at the isolated rate, 5 a minute', async () => {
    expect(await statuses(t, 5, '/search?q=nest')).toEqual(Array(5).fill(200));
    expectThrottled(await t.request('/search?q=nest'), 60);
  });

  it('keeps its counters in the throttling cache, not in the default cache', async () => {
    expect(await statuses(t, 5, '/search?q=nest')).toEqual(Array(5).fill(200));
    expect(await throttlingCache.store.keys()).toEqual(['throttle_isolated_127.0.0.1']);
    expect(await defaultCache.store.keys()).toEqual([]);
    // Emptying the default cache leaves the search counter alone...
    await defaultCache.reset();
    expect((await t.request('/search?q=nest')).status).toBe(429);
    // ...emptying the throttling cache clears it.
    await throttlingCache.reset();
    expect((await t.request('/search?q=nest')).status).toBe(200);
  });

  it('is independent of the default cache counters of other routes', async () => {
    expect(await statuses(t, 4, '/articles')).toEqual([200, 200, 200, 429]);
    expect((await t.request('/search?q=nest')).status).toBe(200);
    expect(await defaultCache.store.keys()).toEqual(expect.arrayContaining(['throttle_anon_127.0.0.1', 'throttle_user_127.0.0.1']));
  });
});
