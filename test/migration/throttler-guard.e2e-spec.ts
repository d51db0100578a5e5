/**
 * Port of @nestjs/throttler's src/throttler.guard.spec.ts (6.x), written from the migration guide.
 *
 * The peer calls its guard with a mocked context and counts `res.header()` calls; here the same behaviours
 * are checked over HTTP, on Express and Fastify, since the module places the guard itself. The peer's
 * options (`limit: 5, ttl: 60, ignoreUserAgents`) become a throttle with `rates: { user: '5/min' }` and the
 * module's `ignoreUserAgents`, its headers
 * `headers: 'legacy'`, `setHeaders: false` the module's default `headers: false`, callback `limit`/`ttl`
 * a `getRequestRate()`, and a limit "from the reflector" a route's own `@Throttle` + `@ThrottleScope`.
 * Each peer test uses a handler of its own; here each has its route, counted per route.
 */
import { Controller, Get } from '@nestjs/common';
import {
  RestflowThrottleModule,
  type RestflowThrottleOptions,
  Throttle,
  ThrottleGuard,
  ThrottleScope,
  ThrottleStores,
} from 'restflow-throttle';
import { PLATFORMS, type Platform, type PortedApp, startPorted } from './helpers';
import { PerRouteScopedThrottle, PerRouteUserThrottle } from './examples/per-route';

/** `limit: () => 5, ttl: () => 60`: the rate decided per request. */
class CallbackRateThrottle extends PerRouteUserThrottle {
  override getRequestRate(): string {
    return '5/min';
  }
}

@Controller()
class GuardController {
  @Get('add-headers')
  addHeaders() {
    return 'string';
  }

  @Get('return-error')
  returnError() {
    return 'string';
  }

  @Get('use-reflector')
  @Throttle([PerRouteScopedThrottle])
  @ThrottleScope('reflector')
  useReflector() {
    return 'string';
  }

  @Get('user-agent-skip')
  userAgentSkip() {
    return 'string';
  }

  @Get('callback')
  @Throttle([CallbackRateThrottle])
  callback() {
    return 'string';
  }
}

/** The peer's module: 5 per window, per route and client, `ignoreUserAgents: [/userAgentIgnore/]`. */
function start(platform: Platform, options: Partial<RestflowThrottleOptions> = {}) {
  return startPorted(platform, (clock) => ({
    imports: [
      RestflowThrottleModule.forRoot({
        defaultThrottles: [PerRouteUserThrottle],
        rates: { user: '5/min', reflector: '2/min' },
        ignoreUserAgents: [/userAgentIgnore/],
        headers: 'legacy',
        clock: clock.read,
        ...options,
      }),
    ],
    controllers: [GuardController],
  }));
}

describe.each(PLATFORMS)('ThrottlerGuard - %s', (platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await start(platform);
  });
  afterAll(() => app.close());

  it('should have all of the providers defined', () => {
    expect(app.t.app.get(ThrottleGuard)).toBeInstanceOf(ThrottleGuard);
    expect(app.t.app.get(ThrottleStores)).toBeInstanceOf(ThrottleStores);
  });

  describe('HTTP Context', () => {
    it('should add headers to the res', async () => {
      expect(await app.send('/add-headers')).toEqual({
        status: 200,
        body: 'string',
        headers: { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '60' },
      });
    });

    // Beside the peer's Retry-After, the 429 here also says where the limit stands (X-RateLimit-*).
    it('should return an error after passing the limit', async () => {
      for (let i = 0; i < 5; i++) expect((await app.send('/return-error')).status).toBe(200);
      expect(await app.send('/return-error')).toMatchObject({
        status: 429,
        headers: { 'retry-after': '60', 'x-ratelimit-remaining': '0' },
      });
    });

    it('should pull values from the reflector instead of options', async () => {
      expect(await app.send('/use-reflector')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '60' },
      });
    });

    it('should skip due to the user-agent header', async () => {
      for (let i = 0; i < 6; i++) {
        expect(await app.send('/user-agent-skip', { headers: { 'user-agent': 'userAgentIgnore' } })).toEqual({
          status: 200,
          body: 'string',
          headers: {},
        });
      }
    });

    it('should accept callback options for ttl and limit', async () => {
      expect(await app.send('/callback')).toMatchObject({
        status: 200,
        headers: { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-reset': '60' },
      });
    });

    // The peer sends no header at all then, Retry-After included; here a 429 always carries Retry-After (DRF).
    it('should not add headers to the response when setHeaders is false', async () => {
      const quiet = await start(platform, { headers: false });
      try {
        for (let i = 0; i < 5; i++) {
          expect(await quiet.send('/add-headers')).toEqual({ status: 200, body: 'string', headers: {} });
        }
        const refused = await quiet.send('/add-headers');
        expect([refused.status, refused.headers]).toEqual([429, { 'retry-after': '60' }]);
      } finally {
        await quiet.close();
      }
    });

    it('should respect setHeaders option from commonOptions', async () => {
      const quiet = await start(platform, { headers: false });
      try {
        expect(await quiet.send('/add-headers')).toEqual({ status: 200, body: 'string', headers: {} });
      } finally {
        await quiet.close();
      }
    });
  });
});
