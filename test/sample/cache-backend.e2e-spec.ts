/**
 * Docs: cache backend, `IsolatedThrottle` with its counters in the
 * `throttling` cache alias, on `GET /search`, sample/cache-backend. Rate 5/min.
 */
import type { Cache } from 'cache-manager';
import { RESTFLOW_THROTTLE_CACHE, type MemoryThrottleStore } from 'restflow-throttle';
import type { SampleCaches } from '../../sample/cache';
import { SAMPLE_CACHES } from '../../sample/cache-backend/sample-caches.module';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('IsolatedThrottle on %s', (platform) => {
  const t = useSample(platform);
  let defaultStore: MemoryThrottleStore;
  let throttlingCache: Cache;
  beforeAll(() => {
    defaultStore = t.app.get(RESTFLOW_THROTTLE_CACHE) as MemoryThrottleStore;
    throttlingCache = t.app.get<SampleCaches>(SAMPLE_CACHES).caches.throttling;
  });

  it('throttles search at the isolated rate, 5 a minute', async () => {
    expect(await statuses(t, 5, '/search?q=nest')).toEqual(Array(5).fill(200));
    expectThrottled(await t.request('/search?q=nest'), 60);
  });

  it('keeps its counters in the throttling cache, not in the default cache', async () => {
    expect(await statuses(t, 5, '/search?q=nest')).toEqual(Array(5).fill(200));
    expect(await throttlingCache.store.keys()).toEqual(['throttle_isolated_ip:127.0.0.1']);
    expect(defaultStore.size).toBe(0);
    // Emptying the default store leaves the search counter alone...
    defaultStore.reset();
    expect((await t.request('/search?q=nest')).status).toBe(429);
    // ...emptying the throttling cache clears it.
    await throttlingCache.reset();
    expect((await t.request('/search?q=nest')).status).toBe(200);
  });

  it('is independent of the default cache counters of other routes', async () => {
    expect(await statuses(t, 4, '/articles')).toEqual([200, 200, 200, 429]);
    expect((await t.request('/search?q=nest')).status).toBe(200);
    // The anon and the user counters of /articles; the search counter is not among them.
    expect(defaultStore.size).toBe(2);
  });
});
