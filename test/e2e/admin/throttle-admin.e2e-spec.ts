/**
 * ThrottleAdmin (issue 23 item 6) on a real app, Express and Fastify, with the memory store and a get/set cache:
 * it reads a client's state after real requests without counting, a reset lets a refused client back, a block
 * refuses with Retry-After counting down to its end. The client is named as support staff know it (a user id,
 * an IP address in any form), and the bucket is the one the client's requests count in.
 */
import { Controller, Get, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { caching } from 'cache-manager';
import {
  AnonRateThrottle,
  ImproperlyConfiguredError,
  ManualClock,
  MemoryThrottleStore,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  ThrottleAdmin,
  ThrottleScope,
  UserRateThrottle,
  type HitResult,
  type ThrottleCacheLike,
  type ThrottleRequest,
  type ThrottleStore,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** `x-user: <id>` signs the request in, as an authentication guard would. */
@Injectable()
class HeaderAuth implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ThrottleRequest>();
    const id = request.headers['x-user'];
    if (typeof id === 'string') request.user = { id };
    return true;
  }
}

/** Counts each route apart. */
class PerRouteThrottle extends AnonRateThrottle {
  override scope = 'perroute';
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

/** User 'gold' is held to 2/min; everyone else to the class's 4/min. */
class PlanThrottle extends UserRateThrottle {
  override scope = 'plan';
  override rate = '4/min';
  override getRequestRate(request: ThrottleRequest): string | undefined {
    return (request.user as { id?: string } | undefined)?.id === 'gold' ? '2/min' : undefined;
  }
}

/** GCRA: one number per key, reported in the sliding log's shape. */
class GcraThrottle extends AnonRateThrottle {
  override scope = 'gcra';
  override algorithm = 'gcra' as const;
}

/** Used by no route. */
class UnusedThrottle extends UserRateThrottle {}

@Controller('a')
class AdminTestController {
  @Get('articles') @Throttle([AnonRateThrottle, UserRateThrottle]) articles() {
    return 'ok';
  }
  @Get('uploads') @Throttle([ScopedRateThrottle]) @ThrottleScope('uploads') uploads() {
    return 'ok';
  }
  @Get('one') @Throttle([PerRouteThrottle]) one() {
    return 'ok';
  }
  @Get('two') @Throttle([PerRouteThrottle]) two() {
    return 'ok';
  }
  @Get('plan') @Throttle([PlanThrottle]) plan() {
    return 'ok';
  }
  @Get('gcra') @Throttle([GcraThrottle]) gcra() {
    return 'ok';
  }
}

const STORES: Record<string, () => Promise<ThrottleCacheLike>> = {
  memory: async () => new MemoryThrottleStore(),
  'get/set cache': async () => caching('memory', { max: 1000, ttl: 0 }),
};

const RATES = { anon: '3/min', user: '5/min', uploads: '2/min', perroute: '2/min', gcra: '3/min' };

type Init = { method?: string; headers?: Record<string, string> };
const asUser = (id: string): Init => ({ headers: { 'x-user': id } });

async function statuses(t: TestApp, path: string, n: number, init?: Init): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await t.request(path, init)).status);
  return out;
}

/** The code of what `run` rejects with. */
async function codeOf(run: () => Promise<unknown>): Promise<string> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImproperlyConfiguredError);
  return (error as ImproperlyConfiguredError).code;
}

describe.each(PLATFORMS)('ThrottleAdmin on %s', (platform) => {
  describe.each(Object.keys(STORES))('with a %s', (storeKind) => {
    let t: TestApp;
    let admin: ThrottleAdmin;
    let clock: ManualClock;
    let start: number;

    beforeEach(async () => {
      clock = new ManualClock(1_700_000_000);
      start = clock.now();
      t = await startApp(platform, {
        imports: [
          RestflowThrottleModule.forRoot({
            rates: RATES,
            cache: await STORES[storeKind](),
            clock: clock.read,
            numProxies: 1,
          }),
        ],
        controllers: [AdminTestController],
        providers: [{ provide: APP_GUARD, useClass: HeaderAuth }],
      });
      admin = t.app.get(ThrottleAdmin);
    });
    afterEach(() => t.close());

    it('reads used, remaining and reset after real requests, counting nothing itself', async () => {
      expect(await statuses(t, '/a/articles', 2)).toEqual([200, 200]);
      clock.advance(10);
      const state = await admin.state(AnonRateThrottle, { address: '127.0.0.1' });
      expect(state).toEqual({
        throttle: 'AnonRateThrottle',
        scope: 'anon',
        routes: ['AdminTestController.articles'],
        key: 'throttle_anon_ip:127.0.0.1',
        limit: 3,
        durationSec: 60,
        algorithm: 'sliding-log',
        now: start + 10,
        used: 2,
        remaining: 1,
        resetAt: start + 60,
        blockedUntil: null,
        retryAfter: null,
      });
      // The address as any form of it: the same bucket, however often it is read.
      for (const address of ['::ffff:127.0.0.1', '::FFFF:127.0.0.1', '127.0.0.1'])
        expect(await admin.state('anon', { address })).toEqual(state);
      expect(await statuses(t, '/a/articles', 2)).toEqual([200, 429]);
      expect(await admin.state(AnonRateThrottle, { address: '127.0.0.1' })).toMatchObject({
        used: 3,
        remaining: 0,
        resetAt: start + 60,
        blockedUntil: start + 60,
        retryAfter: 50,
      });
    });

    it('finds an IPv6 client by any address of its /64, and a user by its id as a number or a string', async () => {
      const v6 = { headers: { 'x-forwarded-for': '2001:db8:1:2::7' } };
      expect(await statuses(t, '/a/articles', 1, v6)).toEqual([200]);
      const state = await admin.state(AnonRateThrottle, { address: '2001:db8:1:2:ffff::1' });
      expect(state).toMatchObject({ key: 'throttle_anon_ip:2001:db8:1:2::/64', used: 1 });
      expect(await statuses(t, '/a/articles', 2, asUser('42'))).toEqual([200, 200]);
      expect(await admin.state(UserRateThrottle, { user: 42 })).toMatchObject({
        key: 'throttle_user_user:42',
        used: 2,
      });
      expect(await admin.state('user', { user: '42' })).toMatchObject({ used: 2, remaining: 3 });
    });

    it('reset lets a refused client back, and leaves every other client as it was', async () => {
      expect(await statuses(t, '/a/articles', 6, asUser('ann'))).toEqual([200, 200, 200, 200, 200, 429]);
      expect(await statuses(t, '/a/articles', 2, asUser('bob'))).toEqual([200, 200]);
      const after = await admin.reset(UserRateThrottle, { user: 'ann' });
      expect(after).toEqual([expect.objectContaining({ key: 'throttle_user_user:ann', used: 0, remaining: 5 })]);
      expect(after[0].resetAt).toBeNull();
      expect(await statuses(t, '/a/articles', 6, asUser('ann'))).toEqual([200, 200, 200, 200, 200, 429]);
      expect(await admin.state(UserRateThrottle, { user: 'bob' })).toMatchObject({ used: 2 });
    });

    it('block refuses every request with Retry-After counting down to its end, then lets the client in', async () => {
      expect(await statuses(t, '/a/articles', 1, asUser('ann'))).toEqual([200]);
      const [blocked] = await admin.block(UserRateThrottle, { user: 'ann' }, 600);
      expect(blocked).toMatchObject({ blockedUntil: start + 600, retryAfter: 600, remaining: 0 });
      let refused = await t.request('/a/articles', asUser('ann'));
      expect([refused.status, refused.headers.get('retry-after'), refused.body]).toEqual([
        429,
        '600',
        { detail: 'Request was throttled. Expected available in 600 seconds.' },
      ]);
      // A shorter block keeps the longer one.
      await admin.block(UserRateThrottle, { user: 'ann' }, 60);
      clock.advance(599);
      refused = await t.request('/a/articles', asUser('ann'));
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '1']);
      expect(await statuses(t, '/a/articles', 1, asUser('bob'))).toEqual([200]);
      clock.advance(1);
      expect(await statuses(t, '/a/articles', 1, asUser('ann'))).toEqual([200]);
    });

    it('reset ends a block at once; a client never seen can be blocked', async () => {
      await admin.block(AnonRateThrottle, { address: '::ffff:127.0.0.1' }, 3600);
      expect(await statuses(t, '/a/articles', 1)).toEqual([429]);
      await admin.reset(AnonRateThrottle, { address: '127.0.0.1' });
      expect(await statuses(t, '/a/articles', 4)).toEqual([200, 200, 200, 429]);
    });

    it('names a ScopedRateThrottle bucket by its scope, and a per-route bucket by its route', async () => {
      expect(await statuses(t, '/a/uploads', 1, asUser('ann'))).toEqual([200]);
      expect(await admin.state('uploads', { user: 'ann' })).toMatchObject({ throttle: 'ScopedRateThrottle', used: 1 });
      expect(await admin.state(ScopedRateThrottle, { user: 'ann' })).toMatchObject({ limit: 2, used: 1 });

      expect(await statuses(t, '/a/one', 3)).toEqual([200, 200, 429]);
      expect(await statuses(t, '/a/two', 1)).toEqual([200]);
      expect(await codeOf(() => admin.state(PerRouteThrottle, { address: '127.0.0.1' }))).toBe('RFT_ADMIN_AMBIGUOUS');
      const one = { address: '127.0.0.1', route: 'AdminTestController.one' };
      expect(await admin.state(PerRouteThrottle, one)).toMatchObject({ used: 2, retryAfter: 60 });
      const reset = await admin.reset(PerRouteThrottle, { address: '127.0.0.1' });
      expect(reset.map((s) => [s.routes, s.used])).toEqual([
        [['AdminTestController.one'], 0],
        [['AdminTestController.two'], 0],
      ]);
      expect(await statuses(t, '/a/one', 1)).toEqual([200]);
    });

    it("holds a per-request rate throttle to the rate its getRequestRate() gives the client's request", async () => {
      expect(await statuses(t, '/a/plan', 3, asUser('gold'))).toEqual([200, 200, 429]);
      expect(await admin.state(PlanThrottle, { user: 'gold' })).toMatchObject({ limit: 2, used: 2, retryAfter: 60 });
      expect(await admin.state(PlanThrottle, { user: 'basic' })).toMatchObject({ limit: 4, used: 0 });
      const [blocked] = await admin.block(PlanThrottle, { user: 'basic' }, 30);
      expect(blocked).toMatchObject({ limit: 4, retryAfter: 30 });
      expect((await t.request('/a/plan', asUser('basic'))).headers.get('retry-after')).toBe('30');
    });

    it('reads, blocks and resets a GCRA bucket alike (one request frees every 20 s at 3/min)', async () => {
      const client = { address: '127.0.0.1' };
      const read = async () => {
        const { used, remaining, resetAt, blockedUntil, retryAfter } = await admin.state(GcraThrottle, client);
        const since = (time: number | null) => (time === null ? null : time - start);
        return [used, remaining, since(resetAt), since(blockedUntil), retryAfter];
      };
      expect(await read()).toEqual([0, 3, null, null, null]);
      expect(await statuses(t, '/a/gcra', 2)).toEqual([200, 200]);
      expect(await read()).toEqual([2, 1, 20, null, null]);
      clock.advance(5);
      expect(await statuses(t, '/a/gcra', 1)).toEqual([200]);
      expect(await read()).toEqual([3, 0, 20, 20, 15]);
      expect((await t.request('/a/gcra')).headers.get('retry-after')).toBe('15');
      await admin.block(GcraThrottle, client, 600);
      expect(await read()).toEqual([3, 0, 605, 605, 600]);
      expect((await t.request('/a/gcra')).headers.get('retry-after')).toBe('600');
      await admin.reset(GcraThrottle, client);
      expect(await read()).toEqual([0, 3, null, null, null]);
      expect(await statuses(t, '/a/gcra', 1)).toEqual([200]);
    });

    it('refuses what it cannot act on, with a code', async () => {
      expect(await codeOf(() => admin.state(UnusedThrottle, { user: 1 }))).toBe('RFT_ADMIN_UNKNOWN_THROTTLE');
      expect(await codeOf(() => admin.state('nope', { user: 1 }))).toBe('RFT_ADMIN_UNKNOWN_THROTTLE');
      const unknownRoute = { user: 1, route: 'Nope.nope' };
      expect(await codeOf(() => admin.state(UserRateThrottle, unknownRoute))).toBe('RFT_ADMIN_UNKNOWN_THROTTLE');
      // AnonRateThrottle does not count signed-in users.
      expect(await codeOf(() => admin.reset(AnonRateThrottle, { user: 1 }))).toBe('RFT_ADMIN_NOT_COUNTED');
      expect(await codeOf(() => admin.state(UserRateThrottle, {}))).toBe('RFT_ADMIN_INVALID_ARGUMENT');
      expect(await codeOf(() => admin.state(UserRateThrottle, { address: 'nope' }))).toBe('RFT_ADMIN_INVALID_ARGUMENT');
      expect(await codeOf(() => admin.state(UserRateThrottle, { user: '' }))).toBe('RFT_ADMIN_INVALID_ARGUMENT');
      // An anonymous client is keyed by its address, which this one lacks.
      const headersOnly = { request: { headers: { 'x-user': '1' } } };
      expect(await codeOf(() => admin.state(UserRateThrottle, headersOnly))).toBe('RFT_ADMIN_INVALID_ARGUMENT');
      for (const seconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY])
        expect(await codeOf(() => admin.block(UserRateThrottle, { user: 1 }, seconds))).toBe(
          'RFT_ADMIN_INVALID_ARGUMENT',
        );
      const error = await admin.state(UnusedThrottle, { user: 1 }).catch((e: Error) => e);
      expect((error as Error).message).toContain("no route of this app counts with 'UnusedThrottle'");
      expect((error as Error).message).toContain("UserRateThrottle (scope 'user')");
    });
  });

  it('names the store and what it lacks when a store cannot forget or block, and touches nothing', async () => {
    const store = new LookOnlyStore();
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: store })],
      controllers: [AdminTestController],
    });
    try {
      const admin = t.app.get(ThrottleAdmin);
      expect(await admin.state(AnonRateThrottle, { address: '127.0.0.1' })).toMatchObject({ used: 0, remaining: 3 });
      const reset = await admin.reset(AnonRateThrottle, { address: '127.0.0.1' }).catch((e: Error) => e);
      expect(reset).toMatchObject({ code: 'RFT_ADMIN_UNSUPPORTED' });
      expect((reset as Error).message).toBe(
        "ThrottleAdmin cannot reset this client: the store of cache 'default' (LookOnlyStore) has no forget(). " +
          'Give the store a forget() (see ThrottleStore), or use one that has it.',
      );
      const block = await admin.block(AnonRateThrottle, { address: '127.0.0.1' }, 60).catch((e: Error) => e);
      expect((block as Error).message).toContain("'default' (LookOnlyStore) has no block()");
      expect(store.costs).toEqual([0]);
    } finally {
      await t.close();
    }
  });
});

/** A store of the app's own with only hit(): it records the costs it is asked for. */
class LookOnlyStore implements ThrottleStore {
  readonly ownClock = false;
  readonly costs: number[] = [];
  hit(_key: string, _limit: number, _duration: number, now: number | undefined, ...rest: unknown[]): HitResult {
    this.costs.push((rest[2] as number | undefined) ?? 1);
    return { allowed: true, now: now ?? 0, count: 0, oldest: null };
  }
}
