/** Atomic counting in one process: N concurrent requests on one key admit exactly the limit, whatever the cache. */
import { Controller, Get } from '@nestjs/common';
import { caching } from 'cache-manager';
import {
  AnonRateThrottle,
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  type ThrottleCacheLike,
} from 'restflow-throttle';
import { PLATFORMS, startApp } from '../../helpers/http-app';

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

/** A cache-manager memory cache whose every call yields, so concurrent requests really interleave. */
async function slowMemoryCache(): Promise<ThrottleCacheLike> {
  const inner = await caching('memory', { max: 1000, ttl: 0 });
  const tick = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
  return {
    async get<T>(key: string) {
      await tick();
      return inner.get<T>(key);
    },
    async set(key: string, value: unknown, ttl?: number): Promise<unknown> {
      await tick();
      return inner.set(key, value, ttl);
    },
  };
}

const caches: Array<[string, () => Promise<ThrottleCacheLike | undefined>]> = [
  ['the default cache', async () => undefined],
  ['a MemoryThrottleStore given as the cache', async () => new MemoryThrottleStore()],
  ["cache-manager's memory cache", async () => caching('memory', { max: 1000, ttl: 0 })],
  ['a slow get/set cache', slowMemoryCache],
];

describe.each(PLATFORMS)('concurrency on %s', (platform) => {
  it.each(caches)('200 concurrent requests with a limit of 50 admit exactly 50 (%s)', async (_name, makeCache) => {
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '50/min' }, cache: await makeCache() })],
      controllers: [View],
    });
    try {
      const responses = await Promise.all(Array.from({ length: 200 }, () => t.request('/')));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(50);
      expect(statuses.filter((s) => s === 429)).toHaveLength(150);
    } finally {
      await t.close();
    }
  });
});
