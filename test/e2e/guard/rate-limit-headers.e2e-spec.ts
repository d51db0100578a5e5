import { Controller, Get } from '@nestjs/common';
import { ManualClock, RestflowThrottleModule, Throttle, type RestflowThrottleOptions } from 'restflow-throttle';
import { ClientHeaderThrottle } from '../../helpers/store-contract';
import { PLATFORMS, startApp, type HttpResponse, type Platform, type TestApp } from '../../helpers/http-app';

class Burst extends ClientHeaderThrottle {
  override scope = 'burst';
}
class Sustained extends ClientHeaderThrottle {
  override scope = 'sustained';
}
class Smooth extends ClientHeaderThrottle {
  override scope = 'smooth';
  override algorithm = 'gcra' as const;
}

@Controller('h')
class HeadersController {
  @Get('two')
  @Throttle([Burst, Sustained])
  two() {
    return { ok: true };
  }

  @Get('gcra')
  @Throttle([Smooth])
  gcra() {
    return { ok: true };
  }

  @Get('free')
  free() {
    return { ok: true };
  }
}

const RATES = { burst: '3/10s', sustained: '5/min', smooth: '4/min' };

function start(platform: Platform, clock: ManualClock, options: Partial<RestflowThrottleOptions>): Promise<TestApp> {
  return startApp(platform, {
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, clock: clock.read, ...options })],
    controllers: [HeadersController],
  });
}

/** The rate-limit fields of a response, absent ones as null. */
function fields(r: HttpResponse) {
  const h = (name: string) => r.headers.get(name);
  return {
    status: r.status,
    policy: h('ratelimit-policy'),
    limit: h('ratelimit'),
    retryAfter: h('retry-after'),
    legacy: [h('x-ratelimit-limit'), h('x-ratelimit-remaining'), h('x-ratelimit-reset')],
  };
}

describe.each(PLATFORMS)('rate-limit headers on %s', (platform) => {
  const clock = new ManualClock(1_000_000);
  const get = (t: TestApp, path: string, client: string) =>
    t.request(path, { headers: { 'x-client': client } }).then(fields);

  it('sends none by default, as DRF', async () => {
    const t = await start(platform, clock, {});
    try {
      const r = await get(t, '/h/two', 'off');
      expect(r).toEqual({ status: 200, policy: null, limit: null, retryAfter: null, legacy: [null, null, null] });
    } finally {
      await t.close();
    }
  });

  it("'ietf': one policy per throttle, the closest service limit, on allowed and throttled responses", async () => {
    const t = await start(platform, clock, { headers: 'ietf' });
    const policy = '"burst";q=3;w=10, "sustained";q=5;w=60';
    try {
      clock.set(1_000_000);
      expect(await get(t, '/h/two', 'a')).toMatchObject({
        status: 200,
        policy,
        limit: '"burst";r=2;t=10',
        retryAfter: null,
      });
      clock.advance(4);
      expect(await get(t, '/h/two', 'a')).toMatchObject({ status: 200, policy, limit: '"burst";r=1;t=6' });
      expect(await get(t, '/h/two', 'a')).toMatchObject({ status: 200, policy, limit: '"burst";r=0;t=6' });
      // Denied by burst; sustained still records the hit (DRF: no early exit): 4 of 5 used.
      expect(await get(t, '/h/two', 'a')).toMatchObject({
        status: 429,
        policy,
        limit: '"burst";r=0;t=6',
        retryAfter: '6',
      });
      clock.advance(6); // the first hit leaves burst's window; sustained is now the one out of quota for longer
      expect(await get(t, '/h/two', 'a')).toMatchObject({ status: 200, policy, limit: '"sustained";r=0;t=50' });
      expect(await get(t, '/h/two', 'a')).toMatchObject({
        status: 429,
        policy,
        limit: '"sustained";r=0;t=50',
        retryAfter: '50',
      });
      // Another client has its own service limit; the policy is the same on every response.
      expect(await get(t, '/h/two', 'b')).toMatchObject({ status: 200, policy, limit: '"burst";r=2;t=10' });
      // An unthrottled route carries no rate-limit field.
      expect(await get(t, '/h/free', 'a')).toMatchObject({ status: 200, policy: null, limit: null });
    } finally {
      await t.close();
    }
  });

  it("'ietf' with a gcra throttle: r is what may be sent now, t when one more is free", async () => {
    const t = await start(platform, clock, { headers: 'ietf' });
    const policy = '"smooth";q=4;w=60';
    try {
      clock.set(2_000_000);
      // 4/min is one request per 15 s with a burst of 4.
      const burst = [];
      for (let i = 0; i < 5; i++) burst.push(await get(t, '/h/gcra', 'g'));
      expect(burst.map((r) => [r.status, r.limit, r.retryAfter])).toEqual([
        [200, '"smooth";r=3;t=15', null],
        [200, '"smooth";r=2;t=15', null],
        [200, '"smooth";r=1;t=15', null],
        [200, '"smooth";r=0;t=15', null],
        [429, '"smooth";r=0;t=15', '15'],
      ]);
      expect(burst[4].policy).toBe(policy);
      clock.advance(15);
      expect(await get(t, '/h/gcra', 'g')).toMatchObject({ status: 200, limit: '"smooth";r=0;t=15' });
      clock.advance(45); // three more slots drained
      expect(await get(t, '/h/gcra', 'g')).toMatchObject({ status: 200, limit: '"smooth";r=2;t=15' });
    } finally {
      await t.close();
    }
  });

  it("'legacy': X-RateLimit-Limit, -Remaining and -Reset of the closest limit", async () => {
    const t = await start(platform, clock, { headers: 'legacy' });
    try {
      clock.set(3_000_000);
      expect(await get(t, '/h/two', 'l')).toMatchObject({
        status: 200,
        policy: null,
        limit: null,
        legacy: ['3', '2', '10'],
      });
      await get(t, '/h/two', 'l');
      clock.advance(2);
      expect(await get(t, '/h/two', 'l')).toMatchObject({ status: 200, legacy: ['3', '0', '8'] });
      expect(await get(t, '/h/two', 'l')).toMatchObject({ status: 429, legacy: ['3', '0', '8'], retryAfter: '8' });
    } finally {
      await t.close();
    }
  });
});
