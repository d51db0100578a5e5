/**
 * Port of @nestjs/throttler's test/multi (6.x), written from the migration guide.
 *
 * The peer's app: three throttlers on every route, unnamed (`default`, 2 per 5 s), `long` (5 a minute) and
 * `short` (1 a second), counted per route; `/skip-short` skips `short`, `/skip-default-and-long` keeps only
 * `short`. Here, as the guide says: one throttle class per named throttler (its scope names it in the
 * headers), `{route}` in `cacheFormat` for the peer's per-route counting, `@Throttle([...])` listing the
 * throttles that stay instead of `@SkipThrottle({ short: true })`, `headers: 'legacy'`.
 *
 * The peer's three "Default Route" tests are one scenario in time (1 s and 5 s sleeps, here `clock.advance`).
 * Its second and third steps differ here by design: DRF's rule that a request refused by one throttle is
 * still counted by those that allowed it (docs/migrating-from-nestjs-throttler.md, "What a refused request
 * costs").
 */
import { Controller, Get } from '@nestjs/common';
import { RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { DIGITS, PLATFORMS, type PortedApp, startPorted } from './helpers';
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

describe.each(PLATFORMS)('Multi-Throttler Named Usage - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [DefaultThrottle, LongThrottle, ShortThrottle],
          rates: { default: '2/5s', long: '5/min', short: '1/s' },
          headers: 'legacy',
          clock: clock.read,
        }),
      ],
      controllers: [MultiThrottlerController],
    }));
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

    // The peer admits this request: its refused request above was counted by `short` only. Here `default`
    // and `long` allowed it, so they counted it (DRF's rule), and `default` (2 per 5 s) is out until t+5 s.
    it('should get an error if we send two more requests within the first five seconds', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 429,
        headers: { 'retry-after': '4', 'retry-after-default': '4', 'x-ratelimit-remaining-default': '0' },
      });
      clock.advance(1);
      expect(await send('/')).toMatchObject({
        status: 429,
        headers: { 'retry-after': expect.stringMatching(DIGITS), 'retry-after-default': '3' },
      });
      clock.advance(5);
    });

    // The peer admits three of these four (200, 200, 200, 429): `long` has counted 2 requests by then. Here it
    // counted 4 (the refused ones too), so the first is its fifth and last, and the three others are refused.
    it('should get an error if we smartly send 4 more requests within the minute', async () => {
      const { send, clock } = app;
      expect(await send('/')).toMatchObject({
        status: 200,
        headers: {
          'x-ratelimit-limit-long': '5',
          'x-ratelimit-remaining-long': '0',
          'x-ratelimit-remaining-short': '0',
        },
      });
      clock.advance(1);
      expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-long': '52' } });
      clock.advance(5);
      expect(await send('/')).toMatchObject({ status: 429, headers: { 'retry-after-long': '47' } });
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

    // The names differ: a route with one throttle sends the unsuffixed headers (the peer: `-short` only).
    it('should skip the default and long trackers', async () => {
      const answer = await app.send('/skip-default-and-long');
      expect(answer).toMatchObject({ status: 200, headers: { 'x-ratelimit-remaining': '0' } });
      expect(answer.headers['x-ratelimit-remaining-default']).toBeUndefined();
      expect(answer.headers['x-ratelimit-remaining-long']).toBeUndefined();
      expect(answer.headers['x-ratelimit-remaining-short']).toBeUndefined();
    });
  });
});
