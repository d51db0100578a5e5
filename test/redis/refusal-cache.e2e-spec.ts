/**
 * Refused keys answered in process (issue 23 item 2), on a real redis-server, Express and Fastify: one client
 * over `5/min` sends 500 requests; exactly 5 are admitted, and once Redis has refused the client the process
 * answers the rest without a script. The local answers carry the Retry-After and rate-limit headers Redis
 * itself would give; two apps sharing the Redis never admit more than the limit between them, window after
 * window; resetThrottles() forgets the local refusals; `refusalCache: false` asks Redis every time.
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  AnonRateThrottle,
  ManualClock,
  resetThrottles,
  RestflowThrottleModule,
  type RestflowThrottleOptions,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type HttpResponse, type Platform, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';

@Controller()
class Hello {
  @Get()
  hello() {
    return 'ok';
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

/** An app limiting every client to `5/min` on the test's Redis, with a connection of its own. */
async function appOn(platform: Platform, options: RestflowThrottleOptions = {}): Promise<TestApp> {
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  clients.push(client);
  const throttling = { defaultThrottles: [AnonRateThrottle], rates: { anon: '5/min' }, cache: client, ...options };
  return startApp(platform, { imports: [RestflowThrottleModule.forRoot(throttling)], controllers: [Hello] });
}

/** `count` requests, `concurrency` at a time, spread over `apps` in turn. */
async function send(apps: TestApp[], count: number, concurrency = 50): Promise<HttpResponse[]> {
  const responses: HttpResponse[] = [];
  for (let sent = 0; sent < count; sent += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - sent) }, (_, i) => apps[(sent + i) % apps.length]);
    responses.push(...(await Promise.all(batch.map((app) => app.request('/')))));
  }
  return responses;
}

function statuses(responses: HttpResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}
const scripts = (calls: (command: string) => number) => calls('evalsha') + calls('eval');
const header = (r: HttpResponse, name: string) => Number(r.headers.get(name));

describe.each(PLATFORMS)('refused keys answered in process, on %s', (platform) => {
  beforeEach(() => server.command('FLUSHALL'));

  it('1 client, 500 requests at 5/min: exactly 5 admitted, and no script once Redis has refused it', async () => {
    const t = await appOn(platform);
    try {
      const startedAt = performance.now();
      const first = await send([t], 6, 1);
      expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
      const { result, calls } = await server.callsDuring(() => send([t], 494));
      const elapsed = Math.ceil((performance.now() - startedAt) / 1000);
      expect(statuses(result)).toEqual({ 429: 494 });
      expect(scripts(calls)).toBe(0);
      for (const r of result) {
        // The first admission leaves the window 60 s after it: what is left of that, as Redis would say.
        const retryAfter = header(r, 'retry-after');
        expect(retryAfter).toBeGreaterThanOrEqual(60 - elapsed);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(r.body).toEqual({ detail: `Request was throttled. Expected available in ${retryAfter} seconds.` });
      }
    } finally {
      await t.close();
    }
  });

  it('500 requests 50 at a time from the start: exactly 5 admitted; after the first 50, no script', async () => {
    for (const refusalCache of [true, false]) {
      await server.command('FLUSHALL');
      const t = await appOn(platform, { refusalCache });
      try {
        // The first 50 reach Redis together, before any refusal comes back.
        const first = await send([t], 50);
        const { result, calls } = await server.callsDuring(() => send([t], 450));
        expect(statuses([...first, ...result])).toEqual({ 200: 5, 429: 495 });
        // Without the cache each round of 50 is one script at least.
        if (refusalCache) expect(scripts(calls)).toBe(0);
        else expect(scripts(calls)).toBeGreaterThanOrEqual(9);
      } finally {
        await t.close();
      }
    }
  });

  it("a local refusal carries the Retry-After and headers Redis gives: another app's, asked each time", async () => {
    const clock = new ManualClock();
    const local = await appOn(platform, { headers: 'legacy', clock: clock.read });
    const remote = await appOn(platform, { headers: 'legacy', clock: clock.read, refusalCache: false });
    try {
      expect(statuses(await send([local], 5, 1))).toEqual({ 200: 5 });
      clock.advance(10);
      const refused = await local.request('/');
      expect([refused.status, header(refused, 'retry-after')]).toEqual([429, 50]);
      for (const step of [1, 12.5, 20, 16.25]) {
        clock.advance(step);
        const { result, calls } = await server.callsDuring(() => local.request('/'));
        expect(scripts(calls)).toBe(0);
        const truth = await remote.request('/');
        expect(result.status).toBe(429);
        expect(result.body).toEqual(truth.body);
        for (const name of ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']) {
          expect({ name, value: result.headers.get(name) }).toEqual({ name, value: truth.headers.get(name) });
        }
      }
      // 59.75 s after the first admission; at 60 s it leaves the window, and Redis decides again.
      clock.advance(0.25);
      expect((await local.request('/')).status).toBe(200);
    } finally {
      await local.close();
      await remote.close();
    }
  });

  it('two apps sharing one Redis admit 5 a minute between them, window after window', async () => {
    const clock = new ManualClock();
    const apps = [await appOn(platform, { clock: clock.read }), await appOn(platform, { clock: clock.read })];
    const admittedAt: number[] = [];
    try {
      for (let second = 0; second < 200; second += 2.5) {
        const responses = await send(apps, 20, 20);
        for (const r of responses) if (r.status === 200) admittedAt.push(clock.now());
        expect(responses.every((r) => r.status === 200 || r.status === 429)).toBe(true);
        clock.advance(2.5);
      }
      const start = admittedAt[0];
      for (const t of admittedAt) expect(admittedAt.filter((s) => s > t - 60 && s <= t).length).toBeLessThanOrEqual(5);
      // Each window's 5 go through as soon as the last one opens: the refusals end with their waits.
      expect(admittedAt.map((t) => t - start)).toEqual([
        0, 0, 0, 0, 0, 60, 60, 60, 60, 60, 120, 120, 120, 120, 120, 180, 180, 180, 180, 180,
      ]);
    } finally {
      for (const app of apps) await app.close();
    }
  });

  it('resetThrottles(app) forgets the local refusals; a key deleted behind its back stays refused', async () => {
    const t = await appOn(platform);
    try {
      expect(statuses(await send([t], 6, 1))).toEqual({ 200: 5, 429: 1 });
      await resetThrottles(t.app);
      expect(statuses(await send([t], 6, 1))).toEqual({ 200: 5, 429: 1 });
      // Deleted in Redis by hand: Redis would admit, this process still refuses until the wait ends (docs/caches.md).
      await server.command('FLUSHALL');
      const { result, calls } = await server.callsDuring(() => t.request('/'));
      expect([result.status, scripts(calls)]).toEqual([429, 0]);
    } finally {
      await t.close();
    }
  });
});
