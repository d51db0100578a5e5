/**
 * Brute-force protection (issue 23 item 5): FailedAttemptsThrottle on a login
 * route, on Express and Fastify with the default memory store. Failed attempts
 * count, successes do not and reset the key, parallel attempts never get past
 * the limit (each is recorded when it arrives), a client that goes away keeps
 * its attempt, and keys are account + address. A ManualClock moves time.
 */
import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  InternalServerErrorException,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { caching } from 'cache-manager';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import {
  FailedAttemptsThrottle,
  ManualClock,
  MemoryThrottleStore,
  resetThrottles,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  ThrottleScope,
  type RestflowThrottleOptions,
  type ThrottleStore,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';
import { until } from '../../helpers/until';

const PASSWORD = 'correct horse';

/** Handlers wait on it when a test holds them, so "in flight" is exact instead of timed. */
const held = { gate: undefined as Promise<void> | undefined, entered: 0 };

/** A success only gives its own attempt back. */
class RefundingAttemptsThrottle extends FailedAttemptsThrottle {
  override scope = 'login_refund';
  override resetOnSuccess = false;
}

/** The same count with GCRA's one number per key. */
class GcraAttemptsThrottle extends FailedAttemptsThrottle {
  override scope = 'login_gcra';
  override algorithm = 'gcra' as const;
}

/** Only a wrong password (401) is a failed attempt. */
class UnauthorizedOnlyThrottle extends FailedAttemptsThrottle {
  override scope = 'login_401';
  override failureStatuses = [401];
}

/** Counts by account, from any address (OWASP's second layer). */
class AccountAttemptsThrottle extends FailedAttemptsThrottle {
  override scope = 'login_account';
  override keyBy = 'account' as const;
  override accountField = 'email';
}

interface Credentials {
  username?: unknown;
  email?: unknown;
  password?: unknown;
}

function check(body: Credentials): { ok: true } {
  if (body.password === 'crash') throw new InternalServerErrorException();
  if (typeof body.password !== 'string') throw new BadRequestException('password is required');
  if (body.password !== PASSWORD) throw new UnauthorizedException();
  return { ok: true };
}

@Controller('auth')
class LoginController {
  @Post('login')
  @HttpCode(200)
  @Throttle([FailedAttemptsThrottle])
  async login(@Body() body: Credentials) {
    held.entered++;
    await held.gate;
    return check(body);
  }

  @Post('login-refund')
  @HttpCode(200)
  @Throttle([RefundingAttemptsThrottle])
  refund(@Body() body: Credentials) {
    return check(body);
  }

  @Post('login-gcra')
  @HttpCode(200)
  @Throttle([GcraAttemptsThrottle])
  gcra(@Body() body: Credentials) {
    return check(body);
  }

  @Post('login-401')
  @HttpCode(200)
  @Throttle([UnauthorizedOnlyThrottle])
  unauthorizedOnly(@Body() body: Credentials) {
    return check(body);
  }

  @Post('login-account')
  @HttpCode(200)
  @Throttle([AccountAttemptsThrottle])
  byAccount(@Body() body: Credentials) {
    return check(body);
  }

  /** Another throttle of the route (1 request per hour per address) refuses: the 429 is no failed attempt. */
  @Post('login-busy')
  @HttpCode(200)
  @Throttle([FailedAttemptsThrottle, ScopedRateThrottle])
  @ThrottleScope('busy')
  busy(@Body() body: Credentials) {
    return check(body);
  }
}

const RATES = {
  login: '5/15m',
  login_refund: '5/15m',
  login_gcra: '5/15m',
  login_401: '3/15m',
  login_account: '4/h',
  busy: '1/h',
};

/** The default memory store, and a cache-manager cache through get/set. */
const STORES = ['memory', 'get/set'] as const;
const CASES = PLATFORMS.flatMap((platform) => STORES.map((store) => [platform, store] as const));

describe.each(CASES)('FailedAttemptsThrottle on %s, %s store', (platform, store) => {
  const clock = new ManualClock();
  let t: TestApp;
  /** The get/set case's cache-manager cache, emptied between tests (resetThrottles() needs a store's reset()). */
  let cache: Awaited<ReturnType<typeof caching>> | undefined;

  /** Connections the server saw close: a client that went away, seen from the server. */
  const sockets = { closed: 0 };

  beforeAll(async () => {
    t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          rates: RATES,
          clock: clock.read,
          numProxies: 1,
          ...(store === 'get/set' && { cache: (cache = await caching('memory', { max: 1000, ttl: 0 })) }),
        }),
      ],
      controllers: [LoginController],
    });
    (t.app.getHttpServer() as Server).on('connection', (socket: Socket) =>
      socket.once('close', () => sockets.closed++),
    );
  });
  afterAll(async () => {
    (t.app.getHttpServer() as Server).closeAllConnections();
    await t.close();
  });
  beforeEach(async () => {
    held.gate = undefined;
    held.entered = 0;
    await (cache === undefined ? resetThrottles(t.app) : cache.reset());
  });

  /** One login attempt from `ip`; `password: PASSWORD` succeeds. */
  async function login(body: Credentials, ip = '203.0.113.7', path = '/auth/login'): Promise<Response> {
    return fetch(t.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify(body),
    });
  }

  async function statuses(count: number, body: Credentials, ip?: string, path?: string): Promise<number[]> {
    const result: number[] = [];
    for (let i = 0; i < count; i++) result.push((await login(body, ip, path)).status);
    return result;
  }

  const wrong = (username: unknown = 'alice'): Credentials => ({ username, password: 'guess' });
  const right = (username: unknown = 'alice'): Credentials => ({ username, password: PASSWORD });

  it('counts failed attempts: 5 wrong passwords, then a 429 with Retry-After even for the right password', async () => {
    expect(await statuses(5, wrong())).toEqual([401, 401, 401, 401, 401]);
    const refused = await login(right());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('900');
    expect(await refused.json()).toEqual({ detail: 'Request was throttled. Expected available in 900 seconds.' });
  });

  it('Retry-After says when the oldest failure leaves the window, and then there is room for one more', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await login(wrong())).status).toBe(401);
      clock.advance(60);
    }
    const refused = await login(wrong());
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, String(900 - 300)]);
    clock.advance(600);
    expect(await statuses(2, wrong())).toEqual([401, 429]);
  });

  it('does not count successes', async () => {
    expect(await statuses(12, right())).toEqual(Array(12).fill(200));
    expect(await statuses(6, wrong())).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('a success resets the key: after 4 failures and a success, 5 more failures are allowed', async () => {
    expect(await statuses(4, wrong())).toEqual([401, 401, 401, 401]);
    expect((await login(right())).status).toBe(200);
    expect(await statuses(6, wrong())).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('GCRA counts alike: failures count, successes reset, a 429 after 5 failures', async () => {
    const path = '/auth/login-gcra';
    expect(await statuses(4, wrong(), undefined, path)).toEqual([401, 401, 401, 401]);
    expect(await statuses(3, right(), undefined, path)).toEqual([200, 200, 200]);
    expect(await statuses(6, wrong(), undefined, path)).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('resetOnSuccess = false: a success only gives its own attempt back', async () => {
    const path = '/auth/login-refund';
    expect(await statuses(4, wrong(), undefined, path)).toEqual([401, 401, 401, 401]);
    expect(await statuses(3, right(), undefined, path)).toEqual([200, 200, 200]);
    expect(await statuses(2, wrong(), undefined, path)).toEqual([401, 429]);
  });

  it('a server error counts as a failure by default; a 401-only throttle gives 400 and 500 back', async () => {
    expect(await statuses(6, { username: 'alice', password: 'crash' })).toEqual([500, 500, 500, 500, 500, 429]);

    const path = '/auth/login-401';
    const others = [
      ...(await statuses(4, { username: 'alice' }, undefined, path)),
      ...(await statuses(4, { username: 'alice', password: 'crash' }, undefined, path)),
    ];
    expect(others).toEqual([400, 400, 400, 400, 500, 500, 500, 500]);
    expect(await statuses(4, wrong(), undefined, path)).toEqual([401, 401, 401, 429]);
  });

  it('a 429 from another throttle of the route is no failed attempt', async () => {
    const busy = '/auth/login-busy';
    expect((await login(wrong(), undefined, busy)).status).toBe(401);
    // ScopedRateThrottle ('busy', 1/h per address) refuses these; FailedAttemptsThrottle gives each attempt back.
    expect(await statuses(8, wrong(), undefined, busy)).toEqual(Array(8).fill(429));
    // Same scope and key as /auth/login: one failure is counted, so four are left.
    expect(await statuses(5, wrong())).toEqual([401, 401, 401, 401, 429]);
  });

  it('parallel attempts never get past the limit: 20 at once, 5 reach the handler, 15 refused at once', async () => {
    let release!: () => void;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    const early: number[] = [];
    const attempts = Array.from({ length: 20 }, () =>
      login(wrong()).then((r) => {
        early.push(r.status);
        return r.status;
      }),
    );
    await until('15 attempts are answered while 5 are held in the handler', () => early.length === 15);
    expect({ early, entered: held.entered }).toEqual({ early: Array(15).fill(429), entered: 5 });
    release();
    const answered = await Promise.all(attempts);
    expect(held.entered).toBe(5);
    expect(answered.filter((s) => s === 401)).toHaveLength(5);
    expect(answered.filter((s) => s === 429)).toHaveLength(15);
    expect((await login(right())).status).toBe(429);
  });

  it('attempts in flight hold their place even when they will succeed; the successes then reset the key', async () => {
    let release!: () => void;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    const attempts = Array.from({ length: 8 }, () => login(right()).then((r) => r.status));
    await until('5 attempts are in the handler', () => held.entered === 5);
    // The three others are refused while the five are held.
    const refused = await Promise.all(attempts.slice(5));
    expect(held.entered).toBe(5);
    release();
    expect([...(await Promise.all(attempts.slice(0, 5))), ...refused]).toEqual([
      200, 200, 200, 200, 200, 429, 429, 429,
    ]);
    expect(await statuses(6, wrong())).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('a client that goes away before the answer keeps its attempt, even with the right password', async () => {
    let release!: () => void;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    for (let i = 1; i <= 5; i++) {
      const abort = new AbortController();
      const gone = fetch(`${t.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
        body: JSON.stringify(right()),
        signal: abort.signal,
      }).then(
        (response) => `answered ${response.status}`,
        (error: { name?: string }) => error.name,
      );
      await until(`attempt ${i} is in the handler`, () => held.entered === i);
      const closed = sockets.closed;
      abort.abort();
      expect(await gone).toBe('AbortError');
      await until(`the server saw attempt ${i}'s connection close`, () => sockets.closed > closed);
    }
    release();
    held.gate = undefined;
    expect((await login(right())).status).toBe(429);
  });

  it('keys account + address: another account from the same address, the same account elsewhere, go on', async () => {
    expect(await statuses(6, wrong('alice'), '203.0.113.7')).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await statuses(2, wrong('bob'), '203.0.113.7')).toEqual([401, 401]);
    expect(await statuses(2, wrong('alice'), '198.51.100.1')).toEqual([401, 401]);
    expect((await login(right('bob'), '203.0.113.7')).status).toBe(200);
  });

  it('normalises the account: case, spaces and Unicode width are one account', async () => {
    expect(await statuses(2, wrong('Alice'))).toEqual([401, 401]);
    expect(await statuses(2, wrong('  ALICE '))).toEqual([401, 401]);
    expect(await statuses(2, wrong('ａｌｉｃｅ'))).toEqual([401, 429]);
  });

  it('a request without an account (or with one that is not text) is counted by address alone', async () => {
    expect(await statuses(3, { password: 'guess' })).toEqual([401, 401, 401]);
    expect(await statuses(3, wrong(['alice']))).toEqual([401, 401, 429]);
    // The address's account-less bucket is not alice's.
    expect(await statuses(5, wrong('alice'))).toEqual([401, 401, 401, 401, 401]);
  });

  it("keyBy 'account' counts an account from every address (the account from accountField)", async () => {
    const path = '/auth/login-account';
    const ips = ['203.0.113.7', '198.51.100.1', '192.0.2.9', '203.0.113.8', '198.51.100.2'];
    const answers: number[] = [];
    for (const ip of ips) answers.push((await login({ email: 'Carol@Example.com', password: 'x' }, ip, path)).status);
    expect(answers).toEqual([401, 401, 401, 401, 429]);
    expect((await login({ email: 'dave@example.com', password: 'x' }, ips[0], path)).status).toBe(401);
  });
});

@Controller('auth')
class MessageLoginController {
  @MessagePattern('login')
  @Throttle([FailedAttemptsThrottle])
  login(body: Credentials) {
    return check(body);
  }
}

describe.each(PLATFORMS)('FailedAttemptsThrottle refuses at startup what it cannot count (%s)', (platform) => {
  async function init(options: RestflowThrottleOptions, controller: Function): Promise<void> {
    const moduleRef = await Test.createTestingModule({
      imports: [RestflowThrottleModule.forRoot(options)],
      controllers: [controller as new () => object],
    }).compile();
    const app =
      platform === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
    } finally {
      await app.close();
    }
  }

  it('a handler that is not an HTTP route: RFT_ATTEMPTS_NOT_HTTP, naming it', async () => {
    const failure = init({ rates: RATES }, MessageLoginController);
    await expect(failure).rejects.toMatchObject({
      code: 'RFT_ATTEMPTS_NOT_HTTP',
      message: expect.stringContaining('is used on a microservice handler') as unknown,
    });
    await expect(init({ rates: RATES }, MessageLoginController)).rejects.toThrow('(on MessageLoginController.login)');
  });

  it('a store that cannot give an attempt back: RFT_ATTEMPTS_STORE_UNSUPPORTED', async () => {
    const counter = new MemoryThrottleStore();
    class CounterStore implements ThrottleStore {
      readonly ownClock = false;
      hit(key: string, limit: number, durationSec: number, now: number | undefined) {
        return counter.hit(key, limit, durationSec, now);
      }
    }
    await expect(init({ rates: RATES, cache: new CounterStore() }, LoginController)).rejects.toMatchObject({
      code: 'RFT_ATTEMPTS_STORE_UNSUPPORTED',
      message: expect.stringContaining('its store (CounterStore) has no refund() or forget()') as unknown,
    });
  });
});
