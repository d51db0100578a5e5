/**
 * Port of @nestjs/throttler's test/multi (6.x), written from the migration guide.
 *
 * The peer's app: three throttlers on every route, unnamed (`default`, 2 per 5 s), `long` (5 a minute) and
 * `short` (1 a second), counted per route; `/skip-short` skips `short`, `/skip-default-and-long` keeps only
 * `short`. Here, as the guide says: one throttle class per named throttler (its scope names it in the
 * headers), `{route}` in `cacheFormat` for the peer's per-route counting, `@Throttle([...])` listing the
 * throttles that stay instead of `@SkipThrottle({ short: true })`, `headers: 'legacy'`, and
 * `countRefused: false`, so that a request refused by one throttle is counted by none, as the peer does.
 *
 * The peer's three "Default Route" tests are one scenario in time (1 s and 5 s sleeps, here `clock.advance`),
 * and pass as the peer's. One header differs by design: the unsuffixed `X-RateLimit-*` are those of the
 * limit closest to running out, where the peer's are its `default` throttler's (the guide's "Headers").
 * The same scenario with DRF's default (`countRefused: true`) runs last, as the guide's table shows it.
 */
import { Controller, Get } from '@nestjs/common';
import { RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { DIGITS, PLATFORMS, type Platform, type PortedApp, startPorted } from './helpers';
import { PerRouteUserThrottle } from './examples/per-route';

/** `{ ttl: seconds(5), limit: 2 }`, the peer's unnamed (`default`) throttler. */
class DefaultThrottle extends PerRouteUserThrottle {
  override scope = 'default';
}
/** `{ name: 'long', ttl: minutes(1), limit: 5 }` */
class LongThrottle extends PerRouteUserThrottle {
  override scope = 'long';
}
/** `{ name: 'short', ttl: seconds(1), limit: 1 }` */
class ShortThrottle extends PerRouteUserThrottle {
  override scope = 'short';
}

@Controller()
class MultiThrottlerController {
  @Get()
  simpleRoute() {
    return { success: true };
  }

  @Get('skip-short')
  @Throttle([DefaultThrottle, LongThrottle])
  skipShort() {
    return { success: true };
  }

  @Get('skip-default-and-long')
  @Throttle([ShortThrottle])
  skipDefAndLong() {
    return { success: true };
  }
}

/** The peer's app, with the module's `countRefused` as given. */
function startMulti(platform: Platform, countRefused: boolean): Promise<PortedApp> {
  return startPorted(platform, (clock) => ({
    imports: [
      RestflowThrottleModule.forRoot({
        defaultThrottles: [DefaultThrottle, LongThrottle, ShortThrottle],
        rates: { default: '2/5s', long: '5/min', short: '1/s' },
        countRefused,
        headers: 'legacy',
        clock: clock.read,
      }),
    ],
    controllers: [MultiThrottlerController],
  }));
}

describe.each(PLATFORMS)('Multi-Throttler Named Usage - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startMulti(platform, false);
  });
  afterAll(() => app.close());

  describe('Default Route: 1/s, 2/5s, 5/min', () => {
    it('should receive an exception when firing 2 requests within a second', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining-short': '0', 'x-ratelimit-limit-short': '1' },
      });
      expect(await send('/')).toMatchObject({
        status: 429,
        headers: { 'retry-after-short': expect.stringMatching(DIGITS) },
      });
      clock.advance(1);
    });

    it('should get an error if we send two more requests within the first five seconds', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-limit': '2' },
      });
      clock.advance(1);
      expect(await send('/')).toMatchObject({
        status: 429,
        headers: { 'retry-after': expect.stringMatching(DIGITS) },
      });
      clock.advance(5);
    });

    it('should get an error if we smartly send 4 more requests within the minute', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: {
          'x-ratelimit-limit-long': '5',
          'x-ratelimit-remaining-long': '2',
          'x-ratelimit-remaining-short': '0',
        },
      });
      clock.advance(1);
      expect(await send('/')).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
      clock.advance(5);
      // The peer's unsuffixed `remaining` is its `default` throttler's (1); here it is `long`'s, the closest to
      // running out (0), and `default`'s is sent suffixed.
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: {
          'x-ratelimit-remaining-long': '0',
          'x-ratelimit-remaining-short': '0',
          'x-ratelimit-remaining-default': '1',
        },
      });
      clock.advance(1);
      expect(await send('/')).toMatchObject({
        status: 429,
        headers: { 'retry-after-long': expect.stringMatching(DIGITS) },
      });
    });
  });

  describe('skips', () => {
    it('should skip the short throttler', async () => {
      const { send } = app;
      expect(await send('/skip-short')).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '1' } });
      expect(await send('/skip-short')).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
    });

    // The names differ: a route with one throttle sends the unsuffixed headers only (the peer: `-short` only).
    it('should skip the default and long trackers', async () => {
      const answer = await app.send('/skip-default-and-long');
      expect(answer).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
      expect(answer.headers['x-ratelimit-remaining-default']).toBeUndefined();
      expect(answer.headers['x-ratelimit-remaining-long']).toBeUndefined();
      expect(answer.headers['x-ratelimit-remaining-short']).toBeUndefined();
    });
  });
});

/**
 * The same scenario under DRF's rule, the default (`countRefused: true`): a request refused by one throttle is
 * still counted by those that allowed it, so the longer windows fill with refused requests (the guide's table,
 * "What a refused request costs").
 */
describe.each(PLATFORMS)('Multi-Throttler under countRefused: true (DRF) - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startMulti(platform, true);
  });
  afterAll(() => app.close());

  it('0 s: 200, 429; 1 s, 2 s: 429, 429; 7 s, 8 s, 13 s, 14 s: 200, 429, 429, 429', async () => {
    const { send, clock } = app;
    expect((await send('/')).status).toBe(200);
    expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after': '5' } });
    clock.advance(1);
    // `default` (2 per 5 s) counted the request `short` refused: out until 5 s.
    expect(await send('/')).toMatchObject({
      status: 429,
      headers: { 'retry-after': '4', 'retry-after-default': '4', 'x-ratelimit-remaining-default': '0' },
    });
    clock.advance(1);
    expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-default': '3' } });
    clock.advance(5);
    // `long` (5 a minute) counted the requests refused at 0 s, 1 s and 2 s: this is its fifth and last.
    expect(await send('/')).toMatchObject({
      status: 200,
      headers: { 'x-ratelimit-limit-long': '5', 'x-ratelimit-remaining-long': '0' },
    });
    clock.advance(1);
    expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-long': '52' } });
    clock.advance(5);
    expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-long': '47' } });
    clock.advance(1);
    expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-long': '46' } });
  });
});
