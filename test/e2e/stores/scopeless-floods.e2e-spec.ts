/**
 * Issue 24 item 3, for throttles with a `rate` and no `scope`: the default memory store bounds keys per scope,
 * and the throttles with no scope share one bound (docs/caches.md). A flood of new keys through one of them
 * (password resets for made-up e-mails) may take the place of the other's keys that still have room, but never
 * of a client it refuses: that client stays refused, on Express and Fastify.
 */
import { Controller, HttpCode, Post } from '@nestjs/common';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** Keyed on a header, with a rate and no scope: the way a custom throttle is often written. */
abstract class HeaderThrottle extends SimpleRateThrottle {
  protected abstract readonly header: string;
  override cacheFormat = 'throttle_{ident}';
  getCacheKey(request: ThrottleRequest): string | null {
    const value = request.headers[this.header];
    return typeof value === 'string' ? this.formatKey(`${this.header}:${value}`) : null;
  }
}
class LoginAttemptsThrottle extends HeaderThrottle {
  override rate = '3/hour';
  protected readonly header = 'x-username';
}
class ResetMailsThrottle extends HeaderThrottle {
  override rate = '5/hour';
  protected readonly header = 'x-email';
}

@Controller()
class AccountController {
  @Post('login') @HttpCode(200) @Throttle([LoginAttemptsThrottle]) login() {
    return 'ok';
  }
  @Post('password-reset') @HttpCode(200) @Throttle([ResetMailsThrottle]) reset() {
    return 'ok';
  }
}

/** The default store's bound, small so that the flood is five times it. */
const MAX_KEYS = 100;
const FLOOD = 5 * MAX_KEYS;

describe.each(PLATFORMS)(`a flood through one scopeless throttle on %s, memoryCacheMaxKeys ${MAX_KEYS}`, (platform) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ memoryCacheMaxKeys: MAX_KEYS })],
      controllers: [AccountController],
    });
  });
  afterAll(() => t.close());

  const post = async (path: string, headers: Record<string, string>): Promise<number> => {
    const response = await fetch(`${t.url}/${path}`, { method: 'POST', headers });
    await response.arrayBuffer();
    return response.status;
  };
  const times = async (n: number, send: () => Promise<number>): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push(await send());
    return statuses;
  };

  it(`${FLOOD} resets for made-up e-mails reset no refused client of the other scopeless throttle`, async () => {
    const victim = { 'x-username': 'victim' };
    expect(await times(4, () => post('login', victim))).toEqual([200, 200, 200, 429]);
    const mailbox = { 'x-email': 'victim@example.com' };
    expect(await times(6, () => post('password-reset', mailbox))).toEqual([200, 200, 200, 200, 200, 429]);

    const statuses: number[] = [];
    for (let batch = 0; batch < FLOOD / 50; batch++) {
      const sent = Array.from({ length: 50 }, (_, i) =>
        post('password-reset', { 'x-email': `x${batch * 50 + i}@example.net` }),
      );
      statuses.push(...(await Promise.all(sent)));
    }
    expect(statuses.every((status) => status === 200)).toBe(true);

    expect(await post('login', victim)).toBe(429);
    expect(await post('password-reset', mailbox)).toBe(429);
    // New clients of either throttle still get in: the flood's keys with room left make way for them.
    expect(await post('login', { 'x-username': 'someone' })).toBe(200);
    expect(await post('password-reset', { 'x-email': 'someone@example.com' })).toBe(200);
  });
});
