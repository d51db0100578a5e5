/**
 * Brute-force protection (issue 23 item 5) on a real redis-server, Express
 * and Fastify: two apps (two processes' worth of state: each its own client,
 * refusal cache and throttle) share one Redis. Failed attempts count across
 * both, a success in one resets or gives back what the other counted,
 * parallel attempts spread over both never get past the limit, and a success
 * drops the process's own remembered refusal of the key.
 */
import { jest } from '@jest/globals';
import { Body, Controller, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import {
  FailedAttemptsThrottle,
  ManualClock,
  RestflowThrottleModule,
  Throttle,
  ThrottleStores,
  type ThrottleStore,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type Platform, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

const PASSWORD = 'correct horse';
const held = { gate: undefined as Promise<void> | undefined, entered: 0 };

/** A success gives back its own attempt only, counted with GCRA. */
class RefundingGcraThrottle extends FailedAttemptsThrottle {
  override scope = 'login_refund';
  override resetOnSuccess = false;
  override algorithm = 'gcra' as const;
}

interface Credentials {
  username?: string;
  password?: string;
}

@Controller('auth')
class LoginController {
  @Post('login')
  @HttpCode(200)
  @Throttle([FailedAttemptsThrottle])
  async login(@Body() body: Credentials) {
    held.entered++;
    await held.gate;
    if (body.password !== PASSWORD) throw new UnauthorizedException();
    return { ok: true };
  }

  @Post('login-refund')
  @HttpCode(200)
  @Throttle([RefundingGcraThrottle])
  refund(@Body() body: Credentials) {
    if (body.password !== PASSWORD) throw new UnauthorizedException();
    return { ok: true };
  }
}

let server: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.dispose();
});

/** The store the app's throttles count in (Redis behind the refusal cache), its calls watched. */
function watchedStore(t: TestApp): { refund: jest.Mock; forget: jest.Mock; settled(): Promise<void> } {
  const store = t.app.get(ThrottleStores).storeFor(undefined) as Required<ThrottleStore>;
  const refund = jest.spyOn(store, 'refund') as unknown as jest.Mock;
  const forget = jest.spyOn(store, 'forget') as unknown as jest.Mock;
  return {
    refund,
    forget,
    /** Every refund and reset sent so far has been applied by Redis. */
    async settled() {
      await Promise.all([...refund.mock.results, ...forget.mock.results].map((r) => r.value));
    },
  };
}

describe.each(PLATFORMS)('FailedAttemptsThrottle on Redis, %s', (platform: Platform) => {
  const clock = new ManualClock();
  let apps: TestApp[] = [];
  let watched: ReturnType<typeof watchedStore>[] = [];

  beforeEach(async () => {
    await server.command('FLUSHALL');
    held.gate = undefined;
    held.entered = 0;
    apps = [];
    for (let i = 0; i < 2; i++) {
      const client = new Redis({ host: '127.0.0.1', port: server.port });
      clients.push(client);
      const rates = { login: '5/15m', login_refund: '5/15m' };
      const throttling = RestflowThrottleModule.forRoot({ rates, cache: client, clock: clock.read, numProxies: 1 });
      apps.push(await startApp(platform, { imports: [throttling], controllers: [LoginController] }));
    }
    watched = apps.map(watchedStore);
  });
  afterEach(async () => {
    for (const t of apps) {
      (t.app.getHttpServer() as Server).closeAllConnections();
      await t.close();
    }
  });

  async function login(app: number, body: Credentials, ip = '203.0.113.7', path = '/auth/login') {
    const response = await fetch(apps[app].url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: JSON.stringify(body),
    });
    await response.text();
    return response;
  }
  const wrong = (username = 'alice'): Credentials => ({ username, password: 'guess' });
  const right = (username = 'alice'): Credentials => ({ username, password: PASSWORD });

  /** One attempt per app in turn (0, 1, 0, ...), waiting for each to be settled in Redis. */
  async function statuses(count: number, body: Credentials, path?: string, first = 0): Promise<number[]> {
    const result: number[] = [];
    for (let i = 0; i < count; i++) {
      const app = (first + i) % 2;
      result.push((await login(app, body, undefined, path)).status);
      await watched[app].settled();
    }
    return result;
  }

  it('counts failures across processes: 5 between them, then a 429 with Retry-After in both', async () => {
    expect(await statuses(5, wrong())).toEqual([401, 401, 401, 401, 401]);
    for (const app of [0, 1]) {
      const refused = await login(app, right());
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '900']);
    }
    expect(await server.command('KEYS', '*')).toEqual(['throttle_login_acct:alice|ip:203.0.113.7']);
  });

  it('a success in one process resets what both counted; successes are not counted', async () => {
    expect(await statuses(4, wrong())).toEqual([401, 401, 401, 401]);
    expect((await login(1, right())).status).toBe(200);
    await until('the reset is sent', () => watched[1].forget.mock.calls.length === 1);
    await watched[1].settled();
    expect(await server.command('EXISTS', 'throttle_login_acct:alice|ip:203.0.113.7')).toBe(0);
    expect(await statuses(8, right())).toEqual(Array(8).fill(200));
    expect(await statuses(6, wrong())).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('resetOnSuccess = false, GCRA: a success gives back its own attempt, in either process', async () => {
    const path = '/auth/login-refund';
    expect(await statuses(4, wrong(), path)).toEqual([401, 401, 401, 401]);
    expect(await statuses(3, right(), path, 1)).toEqual([200, 200, 200]);
    expect(watched[0].refund.mock.calls.length + watched[1].refund.mock.calls.length).toBe(3);
    expect(await statuses(2, wrong(), path)).toEqual([401, 429]);
  });

  it('parallel attempts spread over both processes never get past the limit', async () => {
    let release!: () => void;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    const early: number[] = [];
    const attempts = Array.from({ length: 30 }, (_, i) =>
      login(i % 2, wrong()).then((r) => {
        early.push(r.status);
        return r.status;
      }),
    );
    await until('25 attempts are answered while 5 are held in the handler', () => early.length === 25);
    expect({ early, entered: held.entered }).toEqual({ early: Array(25).fill(429), entered: 5 });
    release();
    const answered = await Promise.all(attempts);
    expect(answered.filter((s) => s === 401)).toHaveLength(5);
    expect((await login(0, right())).status).toBe(429);
  });

  it('a success drops the refusal its process remembered for the key', async () => {
    let release!: () => void;
    held.gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = Array.from({ length: 5 }, () => login(0, right()).then((r) => r.status));
    await until('5 attempts are in the handler', () => held.entered === 5);
    // Refused by Redis, then remembered by app 0's refusal cache.
    expect((await login(0, right())).status).toBe(429);
    const { result, calls } = await server.callsDuring(() => login(0, right()));
    expect([result.status, calls('evalsha') + calls('eval')]).toEqual([429, 0]);
    release();
    expect(await Promise.all(inFlight)).toEqual([200, 200, 200, 200, 200]);
    await until('the resets are sent', () => watched[0].forget.mock.calls.length === 5);
    await watched[0].settled();
    held.gate = undefined;
    expect((await login(0, wrong())).status).toBe(401);
  });

  it('keys account + address: bob from the same address, and alice from another, go on', async () => {
    expect(await statuses(6, wrong())).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await login(1, wrong('bob'))).status).toBe(401);
    expect((await login(0, wrong(), '198.51.100.1')).status).toBe(401);
  });
});
