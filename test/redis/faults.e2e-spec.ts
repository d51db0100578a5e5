/**
 * Redis faults, against an app in a process of its own (run with
 * --unhandled-rejections=strict, so an unhandled rejection would kill it):
 * the test's own redis-server is killed, or frozen, while requests are in
 * flight. No 500, every answer within the timeout (200 with 'allow', 503
 * with 'deny'), one warning when the outage starts and one when it ends,
 * exact limiting again once the server is back, with no app restart, and
 * no trace of the requests answered without it.
 */
import { AppProcess } from '../helpers/processes/app-process';
import { RedisServer } from '../helpers/redis-server';

const TIMEOUT_MS = 200;
/**
 * Seen from the client, so with headroom for HTTP and a busy 2-core CI machine. Without the
 * deadline ioredis holds such requests for its retries, over 10 s, so the bound still tells.
 */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + 800;
const OUTAGE_STARTS = /Throttle cache 'default' is unavailable/;
const OUTAGE_ENDS = /Throttle cache 'default' is available again/;

type Policy = 'allow' | 'deny';
type Answer = Awaited<ReturnType<AppProcess['hit']>>;

describe.each<[Policy, 'express' | 'fastify']>([
  ['allow', 'express'],
  ['allow', 'fastify'],
  ['deny', 'express'],
  ['deny', 'fastify'],
])("onCacheError '%s' on %s", (policy, platform) => {
  let server: RedisServer;
  let app: AppProcess;
  let run = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await AppProcess.start({
      redisUrl: server.url,
      rate: '3/min',
      platform,
      onCacheError: policy,
      cacheTimeoutMs: TIMEOUT_MS,
      numProxies: 1,
    });
  });
  afterAll(async () => {
    await app?.stop();
    await server?.dispose();
  });
  afterEach(async () => {
    // Whatever happened in the test, the next one starts with a healthy server.
    server.thaw();
    if (!server.isRunning) await server.restart();
    expect(app.alive).toBe(true);
    // Nest's error lines read `ERROR [Context]`; a crash or an unhandled rejection would print a stack.
    expect(app.output).not.toMatch(/unhandled|ERROR \[|^\s+at /im);
  });

  const client = (name: string) => `${name}-${++run}`;
  const limitsExactly = async () => {
    const who = client('limited');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.hit(who)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  };
  /** During an outage: never a 500, answered in time, and the policy's status. */
  const expectOutageAnswers = (answers: Answer[], inFlight: Answer[] = []) => {
    for (const answer of [...inFlight, ...answers]) {
      expect(answer.status).not.toBe(500);
      expect(answer.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    }
    for (const answer of inFlight) expect(policy === 'allow' ? [200] : [200, 503]).toContain(answer.status);
    for (const answer of answers) {
      expect(answer.status).toBe(policy === 'allow' ? 200 : 503);
      if (answer.status === 503) expect(typeof (JSON.parse(answer.body) as { detail?: unknown }).detail).toBe('string');
    }
  };
  /** Requests until the app reports the cache back (the first answered call ends the outage). */
  const untilRecovered = async (endsBefore: number) => {
    const deadline = Date.now() + 15_000;
    while (app.count(OUTAGE_ENDS) === endsBefore) {
      if (Date.now() > deadline) throw new Error(`the app never reported the cache back:\n${app.output}`);
      await app.hit(client('probe'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const burst = (name: string, n: number) => Promise.all(Array.from({ length: n }, () => app.hit(client(name))));

  it('survives redis-server being killed with requests in flight, and limits again once it is restarted', async () => {
    await limitsExactly();
    const [startsBefore, endsBefore] = [app.count(OUTAGE_STARTS), app.count(OUTAGE_ENDS)];

    const inFlight = burst('in-flight', 20);
    await server.stop('SIGKILL');
    const during: Answer[] = [];
    for (let round = 0; round < 5; round++) during.push(...(await burst('down', 10)));
    expectOutageAnswers(during, await inFlight);
    expect(app.count(OUTAGE_STARTS) - startsBefore).toBe(1);
    expect(app.count(OUTAGE_ENDS) - endsBefore).toBe(0);

    await server.restart();
    await untilRecovered(endsBefore);
    await limitsExactly();
    expect(app.count(OUTAGE_STARTS) - startsBefore).toBe(1);
    expect(app.count(OUTAGE_ENDS) - endsBefore).toBe(1);
  }, 60_000);

  it('requests answered while redis-server hangs leave no trace: after SIGCONT the same client gets its whole limit', async () => {
    const endsBefore = app.count(OUTAGE_ENDS);
    expect((await app.hit(client('warm'))).status).toBe(200); // the connection is up and the server's clock known
    const who = client('frozen');
    const during: Answer[] = [];
    server.freeze();
    try {
      for (let i = 0; i < 8; i++) during.push(await app.hit(who));
    } finally {
      server.thaw();
    }
    expectOutageAnswers(during);
    await untilRecovered(endsBefore);
    // Had the 8 hits queued for the frozen server run on SIGCONT, this client would be throttled for a minute.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.hit(who)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  }, 60_000);

  it('answers within the timeout while redis-server hangs (SIGSTOP), and recovers when it resumes', async () => {
    const [startsBefore, endsBefore] = [app.count(OUTAGE_STARTS), app.count(OUTAGE_ENDS)];
    const inFlight = burst('in-flight', 20);
    server.freeze();
    const during: Answer[] = [];
    try {
      for (let round = 0; round < 3; round++) during.push(...(await burst('hung', 10)));
    } finally {
      server.thaw();
    }
    expectOutageAnswers(during, await inFlight);
    expect(app.count(OUTAGE_STARTS) - startsBefore).toBe(1);

    await untilRecovered(endsBefore);
    await limitsExactly();
    expect(app.count(OUTAGE_STARTS) - startsBefore).toBe(1);
    expect(app.count(OUTAGE_ENDS) - endsBefore).toBe(1);
  }, 60_000);
});
