/**
 * Headers, events and the testing clock with Redis counting: the headers come
 * from the one Lua script each batch already runs (no extra command), and a
 * ManualClock drives Redis as it drives the memory store.
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  ManualClock,
  resetThrottles,
  RestflowThrottleModule,
  Throttle,
  type RestflowThrottleOptions,
  type ThrottleDecisionEvent,
} from 'restflow-throttle';
import { ClientHeaderThrottle } from '../helpers/store-contract';
import { PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';

class Log extends ClientHeaderThrottle {
  override scope = 'log';
}
class Cell extends ClientHeaderThrottle {
  override scope = 'cell';
  override algorithm = 'gcra' as const;
}

@Controller('rf')
class RedisFeaturesController {
  @Get('log') @Throttle([Log]) log() {
    return 'ok';
  }
  @Get('cell') @Throttle([Cell]) cell() {
    return 'ok';
  }
}

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.dispose());

/** Commands the server ran (those of the scripts included), but for the INFO calls that measure them; and the script calls alone. */
async function commandsRun(): Promise<{ all: number; scripts: number }> {
  let all = 0;
  const calls = await server.commandCalls();
  for (const [command, n] of calls) if (command !== 'info') all += n;
  return { all, scripts: (calls.get('evalsha') ?? 0) + (calls.get('eval') ?? 0) };
}

describe.each(PLATFORMS)('Redis: headers, events and the clock on %s', (platform) => {
  let client: Redis;
  const apps: TestApp[] = [];
  const clock = new ManualClock();
  beforeEach(() => {
    client = new Redis({ host: '127.0.0.1', port: server.port });
  });
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
    client.disconnect();
  });
  const start = async (options: Partial<RestflowThrottleOptions>): Promise<TestApp> => {
    const t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          rates: { log: '5/min', cell: '4/min' },
          cache: client,
          clock: clock.read,
          ...options,
        }),
      ],
      controllers: [RedisFeaturesController],
    });
    apps.push(t);
    return t;
  };
  const as = (t: TestApp, path: string, client: string) => t.request(path, { headers: { 'x-client': client } });

  it('rate-limit headers cost no Redis command: the same commands run with and without them', async () => {
    const measure = async (headers: RestflowThrottleOptions['headers'], client: string) => {
      const t = await start({ headers });
      await as(t, '/rf/log', `${client}-warm-up`); // loads the script
      const before = await commandsRun();
      const seen: (string | null)[] = [];
      for (let i = 0; i < 7; i++) seen.push((await as(t, '/rf/log', client)).headers.get('ratelimit'));
      const after = await commandsRun();
      return { all: after.all - before.all, scripts: after.scripts - before.scripts, seen };
    };
    const without = await measure(false, `${platform}-off`);
    const withHeaders = await measure('ietf', `${platform}-on`);
    expect(without.seen).toEqual(Array(7).fill(null));
    expect(withHeaders.all).toBe(without.all);
    // One script call per hit but the last, a refusal this process already knows (the refusal cache); nothing else.
    expect(withHeaders.scripts).toBe(6);
    const seen = withHeaders.seen;
    expect(seen).toEqual([
      '"log";r=4;t=60',
      '"log";r=3;t=60',
      '"log";r=2;t=60',
      '"log";r=1;t=60',
      '"log";r=0;t=60',
      '"log";r=0;t=60',
      '"log";r=0;t=60',
    ]);
  });

  it('gcra on Redis gives the same headers as in memory, and its events', async () => {
    const events: ThrottleDecisionEvent[] = [];
    const t = await start({ headers: 'ietf', events: { decision: (e) => void events.push(e) } });
    clock.set(5_000_000);
    const seen = [];
    for (let i = 0; i < 5; i++) {
      const r = await as(t, '/rf/cell', `${platform}-gcra`);
      seen.push([r.status, r.headers.get('ratelimit'), r.headers.get('retry-after')]);
    }
    expect(seen).toEqual([
      [200, '"cell";r=3;t=15', null],
      [200, '"cell";r=2;t=15', null],
      [200, '"cell";r=1;t=15', null],
      [200, '"cell";r=0;t=15', null],
      [429, '"cell";r=0;t=15', '15'],
    ]);
    expect(events.map((e) => [e.algorithm, e.allowed, e.wait])).toEqual([
      ...Array(4).fill(['gcra', true, null]),
      ['gcra', false, 15],
    ]);
  });

  it('decision events name the Redis cache and count 5 allowed, 2 denied', async () => {
    const events: ThrottleDecisionEvent[] = [];
    const t = await start({ events: { decision: (e) => void events.push(e) } });
    for (let i = 0; i < 7; i++) await as(t, '/rf/log', `${platform}-events`);
    expect(events.map((e) => e.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(new Set(events.map((e) => `${e.cache} ${e.scope} ${e.algorithm}`))).toEqual(
      new Set(['default log sliding-log']),
    );
    expect(events[6].wait).toBe(60);
  });

  it('a ManualClock drives Redis too: a window expires without sleeping', async () => {
    const t = await start({});
    clock.set(6_000_000);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await as(t, '/rf/log', `${platform}-clock`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    clock.advance(59);
    expect((await as(t, '/rf/log', `${platform}-clock`)).status).toBe(429);
    clock.advance(1);
    expect((await as(t, '/rf/log', `${platform}-clock`)).status).toBe(200);
  });

  it("resetThrottles(app) forgets the counts on Redis, and only the throttles' keys", async () => {
    const t = await start({});
    await client.set('app:session', 'kept');
    for (let i = 0; i < 5; i++) await as(t, '/rf/log', `${platform}-reset`);
    for (let i = 0; i < 4; i++) await as(t, '/rf/cell', `${platform}-reset`);
    expect((await as(t, '/rf/log', `${platform}-reset`)).status).toBe(429);
    expect((await as(t, '/rf/cell', `${platform}-reset`)).status).toBe(429);
    await resetThrottles(t.app);
    expect(await client.keys('throttle_*')).toEqual([]);
    expect(await client.get('app:session')).toBe('kept');
    expect((await as(t, '/rf/log', `${platform}-reset`)).status).toBe(200);
    expect((await as(t, '/rf/cell', `${platform}-reset`)).status).toBe(200);
  });
});
