/**
 * Port of @nestjs/throttler's test/controller.e2e-spec.ts and its app (test/app, 6.x), written from the
 * migration guide.
 *
 * The peer's app: `forRoot([{ limit: 5, ttl: seconds(60), blockDuration: seconds(20), ignoreUserAgents:
 * [/throttler-test/g] }])` for every route, counted per route; `@Throttle({ default: { limit, ttl,
 * blockDuration } })` on controllers and handlers; `@SkipThrottle()`; the peer's 429 body. Here, as the guide
 * says: a per-route `UserRateThrottle` as the default, `@Throttle([PerRouteScopedThrottle])` +
 * `@ThrottleScope(...)` with a rate per scope for each `@Throttle({ default: ... })`, the module's
 * `ignoreUserAgents` and `skipIf`, `headers: 'legacy'`, the guide's `throttledException: peerException`
 * for the peer's 429 body, and each `blockDuration` in the module's `blockDurations`, by scope.
 *
 * `blockDuration` differs in one way: the peer starts a refused client's count again when its block ends,
 * even when that is sooner than the window; here a block never ends before the client has room again, so a
 * block shorter than the window changes nothing (docs/migrating-from-nestjs-throttler.md, "blockDuration").
 */
import { Controller, Get, Post } from '@nestjs/common';
import { RestflowThrottleModule, SkipThrottle, Throttle, ThrottleScope } from 'restflow-throttle';
import { type Answer, DIGITS, PLATFORMS, type Platform, type PortedApp, startPorted } from './helpers';
import { PerRouteScopedThrottle, PerRouteUserThrottle } from './examples/per-route';
import { peerException } from './examples/peer-exception';

/** The peer's `AppService`. */
const success = () => ({ success: true });
const ignored = () => ({ ignored: true });

/** `@Throttle({ default: { limit: 2, ttl: seconds(10) } })` */
@Controller()
@Throttle([PerRouteScopedThrottle])
@ThrottleScope('app')
class AppController {
  @Get()
  test() {
    return success();
  }

  @Get('ignored')
  @SkipThrottle()
  ignored() {
    return ignored();
  }

  @Get('ignore-user-agents')
  ignoreUserAgents() {
    return ignored();
  }
}

/** The module's throttler. */
@Controller('default')
class DefaultController {
  @Get()
  getDefault() {
    return success();
  }
}

/** `@Throttle({ default: { limit: 2, ttl: seconds(10), blockDuration: seconds(5) } })` */
@Controller('limit')
@Throttle([PerRouteScopedThrottle])
@ThrottleScope('limit')
class LimitController {
  @Get()
  getThrottled() {
    return success();
  }

  /** `@Throttle({ default: { limit: 5, ttl: seconds(10), blockDuration: seconds(15) } })` */
  @Get('higher')
  @ThrottleScope('higher')
  getHigher() {
    return success();
  }
}

/** `@Throttle({ default: { limit: 1, ttl: 1000, blockDuration: 1000 } })` */
@Controller('test/throttle')
class ThrottleTestController {
  @Post()
  @Throttle([PerRouteScopedThrottle])
  @ThrottleScope('test_throttle')
  async testThrottle() {
    return { code: 'THROTTLE_TEST' };
  }
}

const CONTROLLERS = [AppController, DefaultController, LimitController, ThrottleTestController];
const RATES = { user: '5/min', app: '2/10s', limit: '2/10s', higher: '5/10s', test_throttle: '1/s' };
/** The peer's `blockDuration`s: the module's 20 s, LimitController's 5 s and 15 s, ThrottlerTestController's 1 s. */
const BLOCK_DURATIONS = { user: '20s', limit: '5s', higher: '15s', test_throttle: '1s' };

function noRateLimitHeaders(answer: Answer): void {
  expect(Object.keys(answer.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
}

/** `limit` requests counted down in the headers, the next refused with the peer's body. */
async function exhaust(app: PortedApp, path: string, limit: number): Promise<Answer> {
  for (let i = 0; i < limit; i++) {
    expect(await app.send(path)).toEqual({
      status: 200,
      body: success(),
      headers: {
        'x-ratelimit-limit': String(limit),
        'x-ratelimit-remaining': String(limit - (i + 1)),
        'x-ratelimit-reset': expect.stringMatching(DIGITS),
      },
    });
  }
  const refused = await app.send(path);
  expect(refused).toMatchObject({
    status: 429,
    body: { statusCode: 429, message: expect.stringMatching(/ThrottlerException/) },
    headers: { 'retry-after': expect.stringMatching(DIGITS) },
  });
  return refused;
}

/**
 * The peer waits `blockDuration` and is admitted again. Here the refused client is told `Retry-After`, the
 * later of its block's end and the time its oldest request leaves the window (`after` seconds): refused until
 * then, admitted then, with one request counted. (The peer admits at the block's end even when that is sooner
 * than the window.)
 */
async function comesBackAtRetryAfter(app: PortedApp, path: string, limit: number, refused: Answer, after: number) {
  expect(refused.headers['retry-after']).toBe(String(after));
  app.clock.advance(after - 1);
  expect(await app.send(path)).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
  app.clock.advance(1);
  expect(await app.send(path)).toEqual({
    status: 200,
    body: success(),
    headers: {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(limit - 1),
      'x-ratelimit-reset': expect.stringMatching(DIGITS),
    },
  });
}

describe.each(PLATFORMS)('%s Throttler', (platform: Platform) => {
  let app: PortedApp;
  beforeAll(async () => {
    app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [PerRouteUserThrottle],
          rates: RATES,
          blockDurations: BLOCK_DURATIONS,
          ignoreUserAgents: [/throttler-test/g],
          throttledException: peerException,
          headers: 'legacy',
          clock: clock.read,
        }),
      ],
      controllers: CONTROLLERS,
    }));
  });
  afterAll(() => app.close());

  describe('controllers', () => {
    describe('AppController', () => {
      it('GET /ignored', async () => {
        const answer = await app.send('/ignored');
        expect(answer.body).toEqual({ ignored: true });
        noRateLimitHeaders(answer);
      });

      it('GET /ignore-user-agents', async () => {
        // More than the limit: a `g` pattern is matched afresh for every request.
        for (let i = 0; i < 3; i++) {
          const answer = await app.send('/ignore-user-agents', { headers: { 'user-agent': 'throttler-test/0.0.0' } });
          expect(answer.body).toEqual({ ignored: true });
          noRateLimitHeaders(answer);
        }
      });

      it('GET /', async () => {
        expect(await app.send('/')).toEqual({
          status: 200,
          body: { success: true },
          headers: { 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '10' },
        });
      });
    });

    describe('LimitController', () => {
      // The window is 10 s: the 5 s block ends with it (the peer admits at 5 s), the 15 s one holds 5 s longer.
      it.each([
        { method: 'GET', url: '', limit: 2, after: 10 },
        { method: 'GET', url: '/higher', limit: 5, after: 15 },
      ])('$method $url', async ({ url, limit, after }) => {
        const refused = await exhaust(app, `/limit${url}`, limit);
        await comesBackAtRetryAfter(app, `/limit${url}`, limit, refused, after);
      });
    });

    // The 20 s block is shorter than the 60 s window: back at 60 s (the peer: at 20 s).
    describe('DefaultController', () => {
      it('GET /default', async () => {
        const refused = await exhaust(app, '/default', 5);
        await comesBackAtRetryAfter(app, '/default', 5, refused, 60);
      });
    });

    describe('ThrottlerTestController', () => {
      it('GET /test/throttle', async () => {
        const makeRequest = async () => (await app.send('/test/throttle', { method: 'POST' })).status;
        expect(await makeRequest()).toBe(201);
        app.clock.advance(1);
        expect(await makeRequest()).toBe(201);
        expect(await makeRequest()).toBe(429);
        expect(await makeRequest()).toBe(429);
      });
    });
  });
});

describe.each(PLATFORMS)('SkipIf suite - %s', (platform) => {
  it('should skip throttling if skipIf returns true', async () => {
    const app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [PerRouteUserThrottle],
          rates: RATES,
          skipIf: () => true,
          headers: 'legacy',
          clock: clock.read,
        }),
      ],
      controllers: CONTROLLERS,
    }));
    try {
      for (let i = 0; i < 15; i++) {
        const answer = await app.send('/');
        expect(answer).toMatchObject({ status: 200, body: { success: true } });
        noRateLimitHeaders(answer);
      }
    } finally {
      await app.close();
    }
  });
});
