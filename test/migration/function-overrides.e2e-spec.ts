/**
 * Port of @nestjs/throttler's test/function-overrides (6.x), written from the migration guide.
 *
 * The peer's app: a `default` throttler (2 per 3 s, counted per route) and a `custom` one (2 per 3 s) whose
 * `getTracker()` returns one string and whose `generateKey()` makes one key for every route; routes `/` and
 * `/1` skip `custom`, `/custom` and `/custom/1` skip `default`. Here, as the guide says: `getTracker` +
 * `generateKey` become a throttle class's `getCacheKey()` (`formatKey()` without `{route}` shares the key
 * across routes), the per-route default a class with `{route}` in `cacheFormat`, `@SkipThrottle({ custom: true })`
 * the list of the throttles that stay, and `ttl`/`limit` a rate string.
 */
import { Controller, Get } from '@nestjs/common';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle } from 'restflow-throttle';
import { DIGITS, PLATFORMS, type PortedApp, startPorted } from './helpers';
import { PerRouteUserThrottle } from './examples/per-route';

/** The peer's unnamed throttler: `{ ttl: seconds(3), limit: 2 }`, per route and client. */
class DefaultThrottle extends PerRouteUserThrottle {
  override scope = 'default';
}

/** The peer's `custom` throttler: one tracker, and one key for every route it throttles. */
class CustomThrottle extends SimpleRateThrottle {
  override scope = 'custom';

  getCacheKey(): string {
    return this.formatKey('customTrackerString');
  }
}

@Controller()
class FunctionOverridesController {
  @Get()
  @Throttle([DefaultThrottle])
  simpleRoute() {
    return { success: true };
  }

  @Get('1')
  @Throttle([DefaultThrottle])
  simpleRouteOne() {
    return { success: true };
  }

  @Get('custom')
  @Throttle([CustomThrottle])
  simpleRouteTwo() {
    return { success: true };
  }

  @Get('custom/1')
  @Throttle([CustomThrottle])
  simpleRouteThree() {
    return { success: true };
  }
}

describe.each(PLATFORMS)('Function-Overrides-Throttler Named Usage - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { default: '2/3s', custom: '2/3s' },
          headers: 'legacy',
          clock: clock.read,
        }),
      ],
      controllers: [FunctionOverridesController],
    }));
  });
  afterAll(() => app.close());

  describe('Default Routes', () => {
    it('should receive an exception when firing 3 requests within 3 seconds to the same endpoint', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '1', 'x-ratelimit-limit': '2' },
      });
      expect(await send('/1')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '1', 'x-ratelimit-limit': '2' },
      });
      expect(await send('/')).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
      expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after': expect.stringMatching(DIGITS) } });
      expect(await send('/1')).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
      expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after': expect.stringMatching(DIGITS) } });
      clock.advance(3);
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '1', 'x-ratelimit-limit': '2' },
      });
    });
  });

  describe('Custom Routes', () => {
    // Differs from the peer in the headers' names only: a route with one throttle sends the unsuffixed
    // headers (the peer names its lone `custom` throttler: X-RateLimit-Remaining-custom, Retry-After-custom).
    it('should receive an exception when firing 3 requests within 3 seconds to any endpoint', async () => {
      const { send, clock } = app;
      const counted = (remaining: string) => ({
        status: 200,
        headers: { 'x-ratelimit-remaining': remaining, 'x-ratelimit-limit': '2' },
      });
      const refused = { status: 429, headers: { 'retry-after': expect.stringMatching(DIGITS) } };
      expect(await send('/custom')).toMatchObject(counted('1'));
      expect(await send('/custom/1')).toMatchObject(counted('0'));
      expect(await send('/custom')).toMatchObject(refused);
      expect(await send('/custom/1')).toMatchObject(refused);
      clock.advance(3);
      const first = await send('/custom');
      expect(first).toMatchObject(counted('1'));
      expect(await send('/custom/1')).toMatchObject(counted('0'));
      expect(Object.keys(first.headers).filter((name) => name.endsWith('-custom'))).toEqual([]);
    });
  });
});
