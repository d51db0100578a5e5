/**
 * With several throttles, `Retry-After` is never earlier than a reset the
 * same response announces for a policy with nothing left: a client that
 * obeys it does not meet another 429 from a throttle the response described.
 * With one throttle it is DRF's wait, as before.
 */
import { Controller, Get, Injectable } from '@nestjs/common';
import {
  ManualClock,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

@Injectable()
class BurstThrottle extends SimpleRateThrottle {
  override scope = 'burst';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Injectable()
class SustainedThrottle extends SimpleRateThrottle {
  override scope = 'sustained';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller()
class TwoController {
  @Get('two') @Throttle([BurstThrottle, SustainedThrottle]) two() {
    return 'ok';
  }
  @Get('one') @Throttle([BurstThrottle]) one() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('Retry-After with several throttles on %s', (platform) => {
  let t: TestApp;
  let clock: ManualClock;
  afterEach(() => t?.close());

  async function start(headers: false | 'ietf' | 'legacy') {
    clock = new ManualClock(1_000);
    t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({ rates: { burst: '2/10s', sustained: '3/min' }, headers, clock: clock.read }),
      ],
      controllers: [TwoController],
    });
  }

  it.each(['ietf', 'legacy'] as const)(
    '%s: one throttle refuses while the other has just used its last slot',
    async (headers) => {
      await start(headers);
      expect((await t.request('/two')).status).toBe(200);
      clock.advance(1);
      expect((await t.request('/two')).status).toBe(200);
      clock.advance(1);
      // burst refuses (DRF's wait: 8 s); sustained admits its third and last request of the minute (58 s left).
      const refused = await t.request('/two');
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      const announced =
        headers === 'ietf'
          ? Number(/t=(\d+)/.exec(refused.headers.get('ratelimit') ?? '')?.[1])
          : Number(refused.headers.get('x-ratelimit-reset'));
      expect(announced).toBe(58);
      expect(retryAfter).toBeGreaterThanOrEqual(announced);
      // Obeying it lands on an admitted request.
      clock.advance(retryAfter);
      expect((await t.request('/two')).status).toBe(200);
    },
  );

  it("one throttle: Retry-After is DRF's wait, unchanged", async () => {
    await start('ietf');
    await t.request('/one');
    clock.advance(1);
    await t.request('/one');
    clock.advance(1);
    const refused = await t.request('/one');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('8');
  });

  it("without headers nothing is announced: DRF's longest wait among the refusing throttles", async () => {
    await start(false);
    await t.request('/two');
    clock.advance(1);
    await t.request('/two');
    clock.advance(1);
    const refused = await t.request('/two');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('8');
  });
});
