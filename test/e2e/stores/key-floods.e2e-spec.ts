/**
 * Issue 24 item 3, as the attack, through a Nest app on the default memory store: the guide's
 * PasswordResetThrottle (keyed on the e-mail) beside AnonRateThrottle. One address sends password resets for
 * thousands of made-up e-mails; the anon throttle refuses nearly all of them, but (DRF's rule) the reset
 * throttle, which allowed each, records each: thousands of keys. With one LRU for every scope they evicted the
 * counts of other scopes and of refused clients, so the victim got more login attempts and more reset mails.
 * With the keys bounded per scope, the flood evicts only its own scope's keys that still have room.
 */
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  SimpleRateThrottle,
  Throttle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** Password resets: 5 an hour per e-mail address, whoever asks (docs/guide.md). */
class PasswordResetThrottle extends SimpleRateThrottle {
  override rate = '5/hour';
  override scope = 'password_reset';

  getCacheKey(request: ThrottleRequest & { body?: { email?: unknown } }): string | null {
    const email = request.body?.email;
    return typeof email === 'string' ? this.formatKey(email.trim().toLowerCase()) : null;
  }
}

@Controller()
class AccountController {
  @Post('login') @HttpCode(200) @Throttle([AnonRateThrottle]) login() {
    return 'ok';
  }
  @Post('password-reset')
  @HttpCode(200)
  @Throttle([AnonRateThrottle, PasswordResetThrottle])
  reset(@Body() body: { email: string }) {
    return body.email;
  }
}

/** The default store's bound, small so that the flood is five times it. */
const MAX_KEYS = 300;
const FLOOD = 5 * MAX_KEYS;

describe.each(PLATFORMS)(`a flood of new keys on %s, memoryCacheMaxKeys ${MAX_KEYS}`, (platform) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({ rates: { anon: '10/hour' }, numProxies: 1, memoryCacheMaxKeys: MAX_KEYS }),
      ],
      controllers: [AccountController],
    });
  });
  afterAll(() => t.close());

  const post = async (path: string, from: string, email?: string): Promise<number> => {
    const response = await fetch(`${t.url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
      body: JSON.stringify(email === undefined ? {} : { email }),
    });
    await response.arrayBuffer();
    return response.status;
  };
  const times = async (n: number, send: () => Promise<number>): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push(await send());
    return statuses;
  };

  it(`${FLOOD} password resets for distinct e-mails reset neither a refused address nor a refused e-mail`, async () => {
    // The victim's address is at its anon limit; the victim's e-mail at its reset limit.
    expect(await times(11, () => post('login', '203.0.113.1'))).toEqual([...Array(10).fill(200), 429]);
    const resets = await times(6, () => post('password-reset', '203.0.113.2', 'victim@example.com'));
    expect(resets).toEqual([...Array(5).fill(200), 429]);

    // The flood, from one address, 50 requests in flight: all but the first 10 refused by the anon throttle.
    const statuses: number[] = [];
    for (let batch = 0; batch < FLOOD / 50; batch++) {
      const emails = Array.from({ length: 50 }, (_, i) => `x${batch * 50 + i}@example.net`);
      const sent = emails.map((email) => post('password-reset', '198.51.100.7', email));
      statuses.push(...(await Promise.all(sent)));
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);

    expect(await post('login', '203.0.113.1')).toBe(429);
    expect(await post('password-reset', '203.0.113.3', 'victim@example.com')).toBe(429);
    // Other clients are served as before: a new address, a new e-mail.
    expect(await post('password-reset', '203.0.113.4', 'someone@example.com')).toBe(200);
  });
});
