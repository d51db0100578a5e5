/**
 * DRF's tests/test_throttling.py, translated: the same timelines against real
 * Nest apps over HTTP, with an injected clock instead of sleeps.
 */
import { Controller, Get, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  BaseThrottle,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  ThrottleScope,
  UserRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { FakeClock, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

const clock = new FakeClock(0);

// Each throttle reads the test's clock, as DRF's tests patch `timer`.
class User3Sec extends UserRateThrottle {
  override rate = '3/sec';
  override scope = 'seconds';
  override timer = () => clock.now;
}
class User3Min extends UserRateThrottle {
  override rate = '3/min';
  override scope = 'minutes';
  override timer = () => clock.now;
}
class User6Min extends UserRateThrottle {
  override rate = '6/min';
  override scope = 'minutes';
  override timer = () => clock.now;
}
class ClockedScoped extends ScopedRateThrottle {
  override timer = () => clock.now;
}

/** DRF's NonTimeThrottle: the first request passes, then nothing; no wait estimate. */
class NonTimeThrottle extends BaseThrottle {
  private called = false;
  allowRequest(): boolean {
    if (!this.called) {
      this.called = true;
      return true;
    }
    return false;
  }
}

/** Authenticates `Authorization: User <id>` like DRF's force_authenticate. */
@Injectable()
class HeaderAuth implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ThrottleRequest>();
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('User ')) request.user = { id: Number(auth.slice(5)) };
    return true;
  }
}

@Controller()
class MockViews {
  @Get('sec') @Throttle([User3Sec]) sec() {
    return 'foo';
  }
  @Get('min') @Throttle([User3Min]) min() {
    return 'foo';
  }
  @Get('double') @Throttle([User3Sec, User6Min]) double() {
    return 'foo';
  }
  @Get('nontime') @Throttle([NonTimeThrottle]) nontime() {
    return 'foo';
  }
  @Get('x') @Throttle([ClockedScoped]) @ThrottleScope('x') x() {
    return 'x';
  }
  @Get('y') @Throttle([ClockedScoped]) @ThrottleScope('y') y() {
    return 'y';
  }
  @Get('unscoped') @Throttle([ClockedScoped]) unscoped() {
    return 'u';
  }
}

describe.each(PLATFORMS)('DRF throttling tests on %s', (platform) => {
  let t: TestApp;
  const get = (path: string, user?: number) =>
    t.request(path, { headers: user === undefined ? {} : { authorization: `User ${user}` } });

  beforeEach(async () => {
    clock.now = 0;
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { x: '3/min', y: '1/min' } })],
      controllers: [MockViews],
      providers: [{ provide: APP_GUARD, useClass: HeaderAuth }],
    });
  });
  afterEach(() => t.close());

  it('requests are throttled (3/sec: the 4th is 429)', async () => {
    for (let i = 0; i < 3; i++) expect((await get('/sec')).status).toBe(200);
    expect((await get('/sec')).status).toBe(429);
  });

  it('requests are allowed again after the duration', async () => {
    for (let i = 0; i < 4; i++) await get('/sec');
    clock.advance(1);
    expect((await get('/sec')).status).toBe(200);
  });

  it('users are throttled independently', async () => {
    for (let i = 0; i < 3; i++) expect((await get('/sec', 1)).status).toBe(200);
    expect((await get('/sec', 1)).status).toBe(429);
    expect((await get('/sec', 2)).status).toBe(200);
    expect((await get('/sec')).status).toBe(200); // anonymous: by address
  });

  it('multiple throttles: Retry-After 1, then 59, then 58', async () => {
    let response = await get('/double');
    for (let i = 0; i < 3; i++) response = await get('/double');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('1');

    clock.now = 1;
    for (let i = 0; i < 2; i++) expect((await get('/double')).status).toBe(200);
    response = await get('/double');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('59');

    clock.now = 2;
    response = await get('/double');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('58');
  });

  it.each([
    ['/sec', '1', 'Request was throttled. Expected available in 1 second.'],
    ['/min', '60', 'Request was throttled. Expected available in 60 seconds.'],
  ])('%s: the 4th request has Retry-After %s and DRF body', async (path, retryAfter, detail) => {
    for (let i = 0; i < 3; i++) await get(path);
    const response = await get(path);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe(retryAfter);
    expect(response.body).toEqual({ detail });
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('a steady 3/min client at t=0,20,40,60,80 is never throttled', async () => {
    for (const now of [0, 20, 40, 60, 80]) {
      clock.now = now;
      expect((await get('/min')).status).toBe(200);
    }
  });

  it('a throttle without a wait estimate answers 429 with no Retry-After', async () => {
    expect((await get('/nontime')).status).toBe(200);
    const response = await get('/nontime');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(response.body).toEqual({ detail: 'Request was throttled.' });
  });

  it('scoped throttle: x=3/min and y=1/min timeline', async () => {
    const at = async (now: number, path: string) => {
      clock.now = now;
      return (await get(path)).status;
    };
    expect(await at(0, '/x')).toBe(200);
    expect(await at(10, '/x')).toBe(200);
    expect(await at(20, '/x')).toBe(200);
    expect(await at(30, '/x')).toBe(429);
    expect(await at(60, '/x')).toBe(200);
    expect(await at(70, '/y')).toBe(200);
    expect(await at(80, '/y')).toBe(429);
    expect(await at(130, '/y')).toBe(200);
  });

  it('an unscoped view under ScopedRateThrottle is never throttled', async () => {
    for (let i = 0; i < 10; i++) expect((await get('/unscoped')).status).toBe(200);
  });
});
