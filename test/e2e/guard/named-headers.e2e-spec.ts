/**
 * Headers as @nestjs/throttler sends them (issue 21 item 5): with `headers: 'legacy'`, a route with several
 * rate throttles names each one (`X-RateLimit-Limit-<name>`, `-Remaining-<name>`, `-Reset-<name>`, and
 * `Retry-After-<name>` for each that refused), beside the unsuffixed headers of the closest limit. A route
 * with one throttle keeps the unsuffixed headers only. Names come from the throttle (`name`, else its
 * scope), are valid tokens, and are distinct per throttle whatever their case.
 */
import { Controller, Get } from '@nestjs/common';
import { ManualClock, RestflowThrottleModule, Throttle, type RestflowThrottleOptions } from 'restflow-throttle';
import { ClientHeaderThrottle } from '../../helpers/store-contract';
import { PLATFORMS, startApp, type HttpResponse, type Platform, type TestApp } from '../../helpers/http-app';

/** The peer's `multi` throttlers, named as there (the name wins over the scope): short 1/s, medium 2/5s, long 5/min. */
class ShortThrottle extends ClientHeaderThrottle {
  readonly name = 'short';
  override scope = 'multi_short';
  override rate = '1/s';
}
class MediumThrottle extends ClientHeaderThrottle {
  readonly name = 'medium';
  override scope = 'multi_medium';
  override rate = '2/5s';
}
class LongThrottle extends ClientHeaderThrottle {
  readonly name = 'long';
  override scope = 'multi_long';
  override rate = '5/min';
}
/** Named by scope. */
class Burst extends ClientHeaderThrottle {
  override scope = 'burst';
}
/** Same name but for the case, a name that is no token, and a scope used twice. */
class UpperBurst extends ClientHeaderThrottle {
  override scope = 'Burst';
}
class Spaced extends ClientHeaderThrottle {
  override scope = 'per user';
}
class BurstAgain extends ClientHeaderThrottle {
  override scope = 'burst';
  override cacheFormat = 'again_{scope}_{ident}';
}
/** Skips clients whose name starts with `skip`. */
class Picky extends ClientHeaderThrottle {
  override scope = 'picky';
  override getCacheKey(request: Parameters<ClientHeaderThrottle['getCacheKey']>[0]): string | null {
    const client = String(request.headers['x-client']);
    return client.startsWith('skip') ? null : this.formatKey(client);
  }
}

@Controller('nh')
class NamedHeadersController {
  @Get('multi') @Throttle([ShortThrottle, MediumThrottle, LongThrottle]) multi() {
    return 'multi';
  }
  @Get('one') @Throttle([Burst]) one() {
    return 'one';
  }
  @Get('odd') @Throttle([Burst, UpperBurst, Spaced, BurstAgain]) odd() {
    return 'odd';
  }
  @Get('picky') @Throttle([Burst, Picky]) picky() {
    return 'picky';
  }
}

function start(platform: Platform, clock: ManualClock, options: Partial<RestflowThrottleOptions>): Promise<TestApp> {
  return startApp(platform, {
    imports: [
      RestflowThrottleModule.forRoot({
        rates: { burst: '3/10s', Burst: '3/10s', 'per user': '4/min', picky: '2/min' },
        clock: clock.read,
        ...options,
      }),
    ],
    controllers: [NamedHeadersController],
  });
}

/** The rate-limit headers of a response, by lower-case name. */
function rateLimitFields(r: HttpResponse): Record<string, string> {
  const fields: Record<string, string> = {};
  r.headers.forEach((value, name) => {
    if (name.startsWith('x-ratelimit') || name.startsWith('retry-after') || name.startsWith('ratelimit'))
      fields[name] = value;
  });
  return fields;
}

describe.each(PLATFORMS)('named rate-limit headers on %s', (platform) => {
  const clock = new ManualClock(1_000_000);
  let t: TestApp | undefined;
  afterEach(() => t?.close());
  const get = async (path: string, client: string) => {
    const r = await (t as TestApp).request(path, { headers: { 'x-client': client } });
    return { status: r.status, headers: rateLimitFields(r) };
  };

  it("'legacy', several throttles: each by its name, the closest limit unsuffixed, Retry-After-<name> for each refusal", async () => {
    t = await start(platform, clock, { headers: 'legacy' });
    clock.set(1_000_000);
    expect(await get('/nh/multi', 'm')).toEqual({
      status: 200,
      headers: {
        'x-ratelimit-limit': '1',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '1',
        'x-ratelimit-limit-short': '1',
        'x-ratelimit-remaining-short': '0',
        'x-ratelimit-reset-short': '1',
        'x-ratelimit-limit-medium': '2',
        'x-ratelimit-remaining-medium': '1',
        'x-ratelimit-reset-medium': '5',
        'x-ratelimit-limit-long': '5',
        'x-ratelimit-remaining-long': '4',
        'x-ratelimit-reset-long': '60',
      },
    });
    // Refused by short; medium and long record it (DRF's rule): medium is now out too, for longer.
    expect(await get('/nh/multi', 'm')).toEqual({
      status: 429,
      headers: {
        'retry-after': '5',
        'retry-after-short': '1',
        'x-ratelimit-limit': '2',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': '5',
        'x-ratelimit-limit-short': '1',
        'x-ratelimit-remaining-short': '0',
        'x-ratelimit-reset-short': '1',
        'x-ratelimit-limit-medium': '2',
        'x-ratelimit-remaining-medium': '0',
        'x-ratelimit-reset-medium': '5',
        'x-ratelimit-limit-long': '5',
        'x-ratelimit-remaining-long': '3',
        'x-ratelimit-reset-long': '60',
      },
    });
    clock.advance(1);
    const third = await get('/nh/multi', 'm');
    expect(third.status).toBe(429);
    expect(third.headers).toMatchObject({ 'retry-after-medium': '4', 'x-ratelimit-remaining-short': '0' });
    expect(third.headers['retry-after-short']).toBeUndefined();
  });

  it("'legacy', one throttle: the unsuffixed headers only, as today", async () => {
    t = await start(platform, clock, { headers: 'legacy' });
    clock.set(2_000_000);
    expect(await get('/nh/one', 'o')).toEqual({
      status: 200,
      headers: { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '10' },
    });
  });

  it('names are tokens, distinct per throttle whatever their case; the same names on every response', async () => {
    t = await start(platform, clock, { headers: 'legacy' });
    clock.set(3_000_000);
    const r = await get('/nh/odd', 'x');
    expect(
      Object.keys(r.headers)
        .filter((name) => name.startsWith('x-ratelimit-limit-'))
        .sort(),
    ).toEqual([
      'x-ratelimit-limit-burst',
      'x-ratelimit-limit-burst-2',
      'x-ratelimit-limit-burst-3',
      'x-ratelimit-limit-per%20user',
    ]);
    // Declared order: burst, Burst (-2: header names ignore case), per user, burst again (-3).
    expect(r.headers['x-ratelimit-limit-per%20user']).toBe('4');
    expect((await get('/nh/odd', 'x')).headers['x-ratelimit-remaining-burst-3']).toBe('1');
  });

  it('a throttle that skips a request sends none of its headers; the others keep their names', async () => {
    t = await start(platform, clock, { headers: 'legacy' });
    clock.set(4_000_000);
    expect(Object.keys((await get('/nh/picky', 'skip-1')).headers).sort()).toEqual([
      'x-ratelimit-limit',
      'x-ratelimit-limit-burst',
      'x-ratelimit-remaining',
      'x-ratelimit-remaining-burst',
      'x-ratelimit-reset',
      'x-ratelimit-reset-burst',
    ]);
    expect((await get('/nh/picky', 'p')).headers).toMatchObject({
      'x-ratelimit-limit-picky': '2',
      'x-ratelimit-limit-burst': '3',
    });
  });

  it("'ietf' names policies by the throttle's name too, each once", async () => {
    t = await start(platform, clock, { headers: 'ietf' });
    clock.set(5_000_000);
    expect((await get('/nh/multi', 'i')).headers['ratelimit-policy']).toBe(
      '"short";q=1;w=1, "medium";q=2;w=5, "long";q=5;w=60',
    );
    expect((await get('/nh/odd', 'i')).headers['ratelimit-policy']).toBe(
      '"burst";q=3;w=10, "Burst";q=3;w=10, "per user";q=4;w=60, "burst-2";q=3;w=10',
    );
  });
});
