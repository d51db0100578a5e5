/**
 * The deadline under round trips that end just inside it (issue 22), through a Nest app on Express and on
 * Fastify: a real redis-server behind a DelayProxy that makes each round trip take DELAY_MS, just under
 * `cacheTimeoutMs`, and a request every few ms, each from a client of its own. Two batches go out at
 * once, so the hits that arrive meanwhile queue behind them and leave with what is left of their oldest
 * hit's deadline (a few ms): they are answered by the policy about `cacheTimeoutMs` after they asked,
 * never a second round trip later. Before the fix a batch got a fresh deadline when it left, so a hit
 * could wait about twice the timeout; this spec fails there (the slowest waited 320 to 365 ms of a
 * 200 ms deadline, 375 to 440 ms by the wall clock).
 *
 * The wait is measured as the library counts it: from the request to its answer, less the time this
 * process' event loop was busy meanwhile (the test's own HTTP client and proxy, the app's handlers, GC).
 * A busy loop is not a slow Redis: the queue wait is counted in idle time, so a process busy itself
 * answers later by its own busy time (docs/faults.md). By the wall clock the slowest answers took 210
 * to 310 ms on a shared two-core host, more when it is loaded: a bound on that would measure the host,
 * not the store.
 *
 * Two legs. Commands delayed (each reply comes back at once): a batch that ran out of time in the queue,
 * or on its way, reaches the server after its deadline and is refused there, so nothing is applied after
 * its request was answered. Replies delayed (the issue's case: the server runs a batch at once, its reply
 * is what is slow). Either way every hit Redis answered is counted in it; not the converse: a batch can
 * run on the server in time and its reply still come back after the deadline.
 *
 * DEADLINE_REPORT=1 prints each leg's numbers (those of docs/faults.md).
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { DelayProxy } from '../helpers/delay-proxy';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';

const TIMEOUT_MS = 200;
/** The round trip through the proxy: 15 ms inside the deadline. */
const DELAY_MS = 185;
/** The longest wait allowed, the busy time taken out: the deadline and a quarter (seen: 190 to 203, CPU hogs too). */
const WAITED_WITHIN_MS = TIMEOUT_MS * 1.25;
/** A request every this many ms: dozens arrive during each round trip, so batches queue behind the two out. */
const INTERVAL_MS = 5;
/** How long each leg sends requests. */
const LEG_MS = 1000;

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

/** One request's answer: its client, status, `RateLimit` header, and when it came. */
interface Answer {
  address: string;
  status: number;
  rateLimit: string;
  /** From sending to the last byte, by the wall clock. */
  ms: number;
  /** Of which this process' event loop was idle: the wait, less the process' own busy time. */
  idleMs: number;
  /** When the last byte came, `Date.now()`: the clock of Redis' TIME (one host). */
  answeredAt: number;
}

let server: RedisServer;
let proxy: DelayProxy;
let admin: Redis;
/** Each leg's clients are `10.<leg>.x.y`: no two legs share a key. */
let legs = 0;

beforeAll(async () => {
  server = await RedisServer.start();
  proxy = await DelayProxy.start(server.port);
  admin = new Redis({ host: '127.0.0.1', port: server.port });
});
afterAll(async () => {
  admin?.disconnect();
  await proxy?.close();
  await server?.dispose();
});

describe.each<'deny' | 'allow'>(['deny', 'allow'])("onCacheError '%s'", (policy) => {
  describe.each(PLATFORMS)('on %s', (platform) => {
    let cache: Redis;
    let t: TestApp;
    let agent: Agent;
    const logger = new CapturingLogger();

    beforeAll(async () => {
      proxy.toClientMs = proxy.toServerMs = 0;
      cache = new Redis({ host: '127.0.0.1', port: proxy.port });
      cache.on('error', () => undefined);
      const throttle = RestflowThrottleModule.forRoot({
        // Never reached: each 200 with a reset is Redis' admission; a 503, or a 200 without one, the policy's.
        rates: { anon: '1000/min' },
        cache,
        numProxies: 1,
        headers: 'ietf',
        cacheTimeoutMs: TIMEOUT_MS,
        onCacheError: policy,
      });
      t = await startApp(platform, { imports: [throttle], controllers: [View] }, logger);
      agent = new Agent({ keepAlive: true, maxSockets: 512 });
      // At full speed: loads the script, teaches the store the server's clock, opens the client's sockets.
      const warm = await Promise.all(Array.from({ length: 64 }, (_, i) => get(`10.0.0.${i}`)));
      expect(warm.every(byRedis)).toBe(true);
    });
    afterAll(async () => {
      agent?.destroy();
      await t?.close();
      cache?.disconnect();
    });
    afterEach(() => {
      expect(logger.errors).toEqual([]);
    });

    /** A GET from `address`, timed from the moment it is sent. */
    function get(address: string): Promise<Answer> {
      const { port } = new URL(t.url);
      return new Promise((resolve, reject) => {
        const idleAt = performance.eventLoopUtilization().idle;
        const at = performance.now();
        const req = request({ host: '127.0.0.1', port, path: '/', agent, headers: { 'x-forwarded-for': address } });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            resolve({
              address,
              status: res.statusCode ?? 0,
              rateLimit: String(res.headers.ratelimit ?? ''),
              ms: now - at,
              idleMs: performance.eventLoopUtilization().idle - idleAt,
              answeredAt: Date.now(),
            });
          });
        });
        req.on('error', reject);
        req.end();
      });
    }

    /** Answered by Redis: a 200 that carries a reset (`t`); the policy's 200 reports the full quota, no reset. */
    function byRedis(answer: Answer): boolean {
      return answer.status === 200 && /;t=\d+/.test(answer.rateLimit);
    }

    /**
     * A request every INTERVAL_MS for LEG_MS, each from a client of its own, through the proxy as the test set
     * it; then the proxy at full speed again. Their answers, and when Redis applied each hit it holds (Unix ms).
     */
    async function leg(name: string): Promise<{ answers: Answer[]; applied: Map<string, number> }> {
      const prefix = `10.${++legs}.`;
      const pending: Promise<Answer>[] = [];
      const loop = performance.eventLoopUtilization();
      const end = performance.now() + LEG_MS;
      for (let i = 0; performance.now() < end; i++) {
        pending.push(get(`${prefix}${i >> 8}.${i & 255}`));
        await sleep(INTERVAL_MS);
      }
      const answers = await Promise.all(pending);
      const busy = performance.eventLoopUtilization(loop).utilization;
      proxy.toClientMs = proxy.toServerMs = 0;
      // Every batch was written before its hits were answered: what the proxy held has reached the server now.
      await sleep(DELAY_MS + 50);
      const applied = new Map<string, number>();
      for (const key of await admin.keys(`*${prefix}*`)) {
        // One hit per client: its log holds one stamp, the server's TIME when the script ran.
        const stamps = await admin.lrange(key, 0, -1);
        expect(stamps).toHaveLength(1);
        applied.set(key.slice(key.indexOf(prefix)), Number(stamps[0]) * 1000);
      }
      report(name, answers, applied, busy);
      return { answers, applied };
    }

    function expectDeadlineKept(answers: Answer[], applied: Map<string, number>): void {
      for (const answer of answers) expect(policy === 'deny' ? [200, 503] : [200]).toContain(answer.status);
      expect(Math.max(...answers.map((answer) => answer.idleMs))).toBeLessThanOrEqual(WAITED_WITHIN_MS);
      // The load did what it is for: hits queued behind the two batches out and ran out of time there...
      expect(answers.filter((answer) => !byRedis(answer)).length).toBeGreaterThan(0);
      // ... while batches that left with time enough were decided by Redis, and counted.
      const decided = answers.filter(byRedis);
      expect(decided.length).toBeGreaterThan(0);
      for (const answer of decided) expect(applied.has(answer.address)).toBe(true);
    }

    /** Each hit Redis holds was applied before its request was answered (5 ms for reading the clocks). */
    function expectNothingAppliedLate(answers: Answer[], applied: Map<string, number>): void {
      const late = answers.filter((answer) => (applied.get(answer.address) ?? -Infinity) > answer.answeredAt + 5);
      expect(late).toEqual([]);
    }

    it('commands held until just inside the deadline: no wait past it, nothing applied after its request was answered', async () => {
      proxy.toServerMs = DELAY_MS;
      const { answers, applied } = await leg(`${policy} ${platform} commands`);
      expectDeadlineKept(answers, applied);
      expectNothingAppliedLate(answers, applied);
    }, 10_000);

    it('replies held until just inside the deadline (the issue): no wait past it, every hit Redis answered counted', async () => {
      proxy.toClientMs = DELAY_MS;
      const { answers, applied } = await leg(`${policy} ${platform} replies`);
      expectDeadlineKept(answers, applied);
      expectNothingAppliedLate(answers, applied);
    }, 10_000);

    /** A leg's numbers, printed when DEADLINE_REPORT is set. */
    function report(name: string, answers: Answer[], applied: Map<string, number>, busy: number): void {
      if (process.env.DEADLINE_REPORT === undefined) return;
      const max = (values: number[]) => Math.round(Math.max(...values));
      const numbers = {
        hits: answers.length,
        loopBusy: Number(busy.toFixed(2)),
        byRedis: answers.filter(byRedis).length,
        applied: applied.size,
        appliedButPolicy: answers.filter((answer) => !byRedis(answer) && applied.has(answer.address)).length,
        maxWaitIdleMs: max(answers.map((answer) => answer.idleMs)),
        maxWallMs: max(answers.map((answer) => answer.ms)),
        overTimeoutWall: answers.filter((answer) => answer.ms > TIMEOUT_MS).length,
        // The least time by which a hit Redis holds was applied before its request was answered.
        minAppliedAheadMs: Math.round(
          Math.min(
            ...answers.filter((a) => applied.has(a.address)).map((a) => a.answeredAt - (applied.get(a.address) ?? 0)),
          ),
        ),
      };
      process.stdout.write(`${name}: ${JSON.stringify(numbers)}\n`);
    }
  });
});
