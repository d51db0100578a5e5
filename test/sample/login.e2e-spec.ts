/**
 * Docs: brute-force protection, the sample's `POST /auth/login`
 * (sample/auth/login.controller.ts): 5 failed attempts per 15 minutes per
 * account and address, then a 429 with Retry-After; a success resets the
 * count. The sample runs behind one proxy here, so tests pick the address.
 */
import { DEMO_LOGIN } from '../../sample/auth/login.controller';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('the sample login route on %s', (platform) => {
  const t = useSample(platform, { numProxies: 1 });

  /** A login form as a browser posts it (urlencoded), or as JSON. */
  async function login(username: string, password: string, ip = '203.0.113.7', json = false) {
    const body = json ? JSON.stringify({ username, password }) : new URLSearchParams({ username, password }).toString();
    const contentType = json ? 'application/json' : 'application/x-www-form-urlencoded';
    const response = await fetch(`${t.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-forwarded-for': ip },
      body,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as unknown, text };
  }

  async function failures(count: number, username = 'alice', ip?: string): Promise<number[]> {
    const result: number[] = [];
    for (let i = 0; i < count; i++) result.push((await login(username, 'guess', ip)).status);
    return result;
  }

  it('signs alice in with the demo password, as a form or as JSON: her token', async () => {
    expect(await login('alice', DEMO_LOGIN.password)).toMatchObject({ status: 200, body: { token: 'alice-token' } });
    expect(await login(' Alice ', DEMO_LOGIN.password, undefined, true)).toMatchObject({ status: 200 });
  });

  it('5 failed attempts, then a 429 with Retry-After for 15 minutes, even with the right password', async () => {
    const first = await login('alice', 'guess');
    expect(first).toMatchObject({ status: 401, body: { detail: 'Invalid username or password.' } });
    expect(await failures(4)).toEqual([401, 401, 401, 401]);
    expectThrottled(await login('alice', DEMO_LOGIN.password), 900);
    t.clock.advance(900);
    expect((await login('alice', DEMO_LOGIN.password)).status).toBe(200);
  });

  it('a successful login resets the count', async () => {
    expect(await failures(4)).toEqual([401, 401, 401, 401]);
    expect((await login('alice', DEMO_LOGIN.password)).status).toBe(200);
    expect(await failures(6)).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('counts account and address together: bob from the same address and alice from another go on', async () => {
    expect(await failures(6, 'alice', '203.0.113.7')).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await failures(1, 'bob', '203.0.113.7')).toEqual([401]);
    expect((await login('alice', DEMO_LOGIN.password, '198.51.100.1')).status).toBe(200);
  });
});
