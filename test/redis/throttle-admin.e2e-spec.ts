/**
 * ThrottleAdmin (issue 23 item 6) on a real redis-server and a real 3-master Redis Cluster, Express and Fastify:
 * state after real requests counts nothing, a reset lets a refused client back (this process's refusal cache
 * forgets it), a block refuses with Retry-After counting down to its end; on the Cluster, clients whose keys
 * live on every master. Then several processes (apps) on one Redis: what the others' refusal caches do after
 * a reset (docs/admin.md), and the broadcast that resets every process (sample/admin/throttle-reset-broadcast.ts).
 */
import {
  Controller,
  type DynamicModule,
  Get,
  Injectable,
  Module,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Cluster, Redis } from 'ioredis';
import {
  AnonRateThrottle,
  ManualClock,
  RestflowThrottleModule,
  Throttle,
  ThrottleAdmin,
  UserRateThrottle,
  type RestflowThrottleOptions,
  type ThrottleRequest,
} from 'restflow-throttle';
import { keySlot } from '../../lib/stores/redis/cluster-slot';
import { THROTTLE_RESETS_REDIS_URL, ThrottleResetBroadcast } from '../../sample/admin/throttle-reset-broadcast';
import { PLATFORMS, startApp, type Platform, type TestApp } from '../helpers/http-app';
import { RedisCluster } from '../helpers/redis-cluster';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

/** `x-user: <id>` signs the request in. */
@Injectable()
class HeaderAuth implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ThrottleRequest>();
    const id = request.headers['x-user'];
    if (typeof id === 'string') request.user = { id };
    return true;
  }
}

@Controller()
class Hello {
  @Get() @Throttle([AnonRateThrottle, UserRateThrottle]) hello() {
    return 'ok';
  }
}

/** The broadcast in a module of its own, as an app would have it. */
@Module({})
class BroadcastModule {
  static on(url: string): DynamicModule {
    const providers = [ThrottleResetBroadcast, { provide: THROTTLE_RESETS_REDIS_URL, useValue: url }];
    return { module: BroadcastModule, providers, exports: [ThrottleResetBroadcast] };
  }
}

const RATES = { anon: '3/min', user: '5/min' };
const asUser = (id: string) => ({ headers: { 'x-user': id } });

let server: RedisServer;
let cluster: RedisCluster;
const connections: Array<Redis | Cluster> = [];
beforeAll(async () => {
  server = await RedisServer.start();
  cluster = await RedisCluster.start(3);
}, 60_000);
afterAll(async () => {
  for (const connection of connections) connection.disconnect();
  await server?.dispose();
  await cluster?.dispose();
});

interface Backend {
  connect(): Redis | Cluster;
  flush(): Promise<unknown>;
}
const BACKENDS: Record<string, Backend> = {
  'a Redis server': {
    connect: () => new Redis({ host: '127.0.0.1', port: server.port }),
    flush: () => server.command('FLUSHALL'),
  },
  'a Redis Cluster': {
    connect: () => new Cluster(cluster.nodes),
    flush: () => Promise.all(cluster.servers.map((node) => node.command('FLUSHALL'))),
  },
};

async function appOn(platform: Platform, backend: Backend, options: RestflowThrottleOptions): Promise<TestApp> {
  const connection = backend.connect().on('error', () => undefined);
  connections.push(connection);
  return startApp(platform, {
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: connection, ...options })],
    controllers: [Hello],
    providers: [{ provide: APP_GUARD, useClass: HeaderAuth }],
  });
}

async function statuses(t: TestApp, n: number, init?: { headers: Record<string, string> }): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await t.request('/', init)).status);
  return out;
}

const scripts = (calls: (command: string) => number) => calls('evalsha') + calls('eval');

describe.each(PLATFORMS)('ThrottleAdmin on %s', (platform) => {
  describe.each(Object.keys(BACKENDS))('with %s', (backendName) => {
    const backend = BACKENDS[backendName];
    let t: TestApp;
    let admin: ThrottleAdmin;
    let clock: ManualClock;
    let start: number;
    beforeEach(async () => {
      await backend.flush();
      clock = new ManualClock();
      start = clock.now();
      t = await appOn(platform, backend, { clock: clock.read });
      admin = t.app.get(ThrottleAdmin);
    });
    afterEach(() => t.close());

    it('reads used, remaining and reset after real requests, counting nothing itself', async () => {
      expect(await statuses(t, 2)).toEqual([200, 200]);
      clock.advance(10);
      for (const address of ['127.0.0.1', '::ffff:127.0.0.1', '127.0.0.1'])
        expect(await admin.state(AnonRateThrottle, { address })).toMatchObject({
          key: 'throttle_anon_ip:127.0.0.1',
          now: start + 10,
          used: 2,
          remaining: 1,
          resetAt: start + 60,
          blockedUntil: null,
        });
      expect(await statuses(t, 2)).toEqual([200, 429]);
      expect(await admin.state('anon', { address: '127.0.0.1' })).toMatchObject({ used: 3, retryAfter: 50 });
    });

    it('reset lets a refused client back, though this process remembered the refusal', async () => {
      expect(await statuses(t, 7, asUser('ann'))).toEqual([200, 200, 200, 200, 200, 429, 429]);
      expect(await statuses(t, 2, asUser('bob'))).toEqual([200, 200]);
      const [after] = await admin.reset(UserRateThrottle, { user: 'ann' });
      expect(after).toMatchObject({ used: 0, remaining: 5, resetAt: null });
      expect(await statuses(t, 6, asUser('ann'))).toEqual([200, 200, 200, 200, 200, 429]);
      expect(await admin.state(UserRateThrottle, { user: 'bob' })).toMatchObject({ used: 2 });
    });

    it('block refuses with Retry-After counting down to its end, then lets the client in', async () => {
      expect(await statuses(t, 1, asUser('ann'))).toEqual([200]);
      const [blocked] = await admin.block(UserRateThrottle, { user: 'ann' }, 600);
      expect(blocked).toMatchObject({ blockedUntil: start + 600, retryAfter: 600, remaining: 0 });
      const refused = await t.request('/', asUser('ann'));
      expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '600']);
      await admin.block(UserRateThrottle, { user: 'ann' }, 60); // shorter: the longer block stays
      clock.advance(599);
      expect((await t.request('/', asUser('ann'))).headers.get('retry-after')).toBe('1');
      expect(await statuses(t, 1, asUser('bob'))).toEqual([200]);
      clock.advance(1);
      expect(await statuses(t, 1, asUser('ann'))).toEqual([200]);
    });

    it('blocks and resets clients whose keys live on different masters, each on its own', async () => {
      const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8'];
      const slots = users.map((u) => keySlot(`throttle_user_user:${u}`));
      const masters = new Set(await Promise.all(slots.map((slot) => cluster.masterOf(slot))));
      expect(masters.size).toBe(3); // on the Cluster, every master holds some of them
      for (const user of users) await admin.block(UserRateThrottle, { user }, 300);
      for (const user of users) expect(await statuses(t, 1, asUser(user))).toEqual([429]);
      for (const user of users.slice(0, 4)) await admin.reset(UserRateThrottle, { user });
      for (const user of users)
        expect(await statuses(t, 1, asUser(user))).toEqual([users.indexOf(user) < 4 ? 200 : 429]);
      const states = await Promise.all(users.map((user) => admin.state(UserRateThrottle, { user })));
      expect(states.map((s) => s.retryAfter)).toEqual([null, null, null, null, 300, 300, 300, 300]);
    });
  });
});

describe.each(PLATFORMS)('several processes on one Redis, on %s', (platform) => {
  const backend = BACKENDS['a Redis server'];
  beforeEach(() => backend.flush());

  it('another process refuses until the refusal it saw ends, unless reset there or without refusal cache', async () => {
    const clock = new ManualClock();
    const a = await appOn(platform, backend, { clock: clock.read });
    const b = await appOn(platform, backend, { clock: clock.read });
    const uncached = await appOn(platform, backend, { clock: clock.read, refusalCache: false });
    try {
      await a.app.get(ThrottleAdmin).block(UserRateThrottle, { user: 'ann' }, 600);
      for (const app of [a, b, uncached]) expect(await statuses(app, 1, asUser('ann'))).toEqual([429]);
      await a.app.get(ThrottleAdmin).reset(UserRateThrottle, { user: 'ann' });
      expect(await statuses(a, 1, asUser('ann'))).toEqual([200]);
      expect(await statuses(uncached, 1, asUser('ann'))).toEqual([200]);
      // b answers the block it saw, itself, without asking Redis.
      const { result, calls } = await server.callsDuring(() => b.request('/', asUser('ann')));
      expect([result.status, result.headers.get('retry-after'), scripts(calls)]).toEqual([429, '600', 0]);
      await b.app.get(ThrottleAdmin).reset(UserRateThrottle, { user: 'ann' });
      expect(await statuses(b, 1, asUser('ann'))).toEqual([200]);
      // Without a reset there, b asks Redis again once the refusal it saw would have ended.
      await a.app.get(ThrottleAdmin).block(UserRateThrottle, { user: 'bob' }, 60);
      expect(await statuses(b, 1, asUser('bob'))).toEqual([429]);
      await a.app.get(ThrottleAdmin).reset(UserRateThrottle, { user: 'bob' });
      clock.advance(59);
      expect(await statuses(b, 1, asUser('bob'))).toEqual([429]);
      clock.advance(1);
      expect(await statuses(b, 1, asUser('bob'))).toEqual([200]);
    } finally {
      await Promise.all([a.close(), b.close(), uncached.close()]);
    }
  });

  it('the reset broadcast (sample/admin/throttle-reset-broadcast.ts) lets the client in on every process', async () => {
    const withBroadcast = async () => {
      const connection = backend.connect();
      connections.push(connection);
      return startApp(platform, {
        imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: connection }), BroadcastModule.on(server.url)],
        controllers: [Hello],
        providers: [{ provide: APP_GUARD, useClass: HeaderAuth }],
      });
    };
    const a = await withBroadcast();
    const b = await withBroadcast();
    try {
      await a.app.get(ThrottleAdmin).block(UserRateThrottle, { user: 'ann' }, 3600);
      for (const app of [a, b]) expect(await statuses(app, 1, asUser('ann'))).toEqual([429]);
      await a.app.get(ThrottleResetBroadcast).reset('user', { user: 'ann' });
      for (const app of [a, b])
        await until('every process admits ann', async () => (await app.request('/', asUser('ann'))).status === 200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
