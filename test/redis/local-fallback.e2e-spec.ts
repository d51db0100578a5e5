/**
 * `onCacheError: 'local'` against a real redis-server, on Express and Fastify: while the server is
 * down the app limits in its own memory (1 process: the whole limit), exactly, with DRF's 429 and
 * Retry-After; once the server is back, counting is Redis' again (a fresh client's key is in Redis).
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

@Controller('local')
class LocalController {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

const OUTAGE_STARTS =
  /Throttle cache 'default' is unavailable \(.+\); limiting locally in this process until it recovers\./;
const OUTAGE_ENDS = /Throttle cache 'default' is available again; limits are shared again\./;

describe.each(PLATFORMS)("onCacheError 'local' on %s", (platform) => {
  let server: RedisServer;
  let client: Redis;
  let t: TestApp;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => undefined);
    const throttle = RestflowThrottleModule.forRoot({
      rates: { anon: '5/min' },
      cache: client,
      numProxies: 1,
      cacheTimeoutMs: 200,
      onCacheError: 'local',
      localFallback: { processes: 1 },
    });
    t = await startApp(platform, { imports: [throttle], controllers: [LocalController] }, logger);
  });
  afterAll(async () => {
    await t?.close();
    client?.disconnect();
    await server?.dispose();
  });

  const hit = (address: string) => t.request('/local', { headers: { 'x-forwarded-for': address } });
  const count = (pattern: RegExp) => logger.warnings.filter((w) => pattern.test(w)).length;

  it('limits in process while Redis is down, exactly, and counts in Redis again once it is back', async () => {
    expect((await hit('10.0.0.1')).status).toBe(200);
    expect(await server.command('KEYS', '*')).toHaveLength(1); // Redis counts while it is up

    await server.stop('SIGKILL');
    const during = [];
    for (let i = 0; i < 8; i++) during.push(await hit('10.0.0.2'));
    expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const retryAfter = Number(during[5].headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(typeof (during[5].body as { detail?: unknown }).detail).toBe('string');
    expect(count(OUTAGE_STARTS)).toBe(1);
    expect(count(OUTAGE_ENDS)).toBe(0);

    await server.restart(); // an empty dataset: what was counted locally is not written back
    let probe = 0;
    await until(
      'the app reports the cache back',
      async () => {
        await hit(`10.0.1.${++probe % 250}`);
        return count(OUTAGE_ENDS) === 1;
      },
      15_000,
    );
    // The probes that found Redis back are counted there; the client counted locally is not.
    expect(((await server.command('KEYS', '*')) as string[]).filter((key) => key.includes('10.0.0.2'))).toEqual([]);

    const { result, calls } = await server.callsDuring(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await hit('10.0.0.3')).status);
      return statuses;
    });
    expect(result).toEqual([200, 200, 200, 200, 200, 429]);
    expect(calls('evalsha') + calls('eval')).toBeGreaterThanOrEqual(5);
    const keys = (await server.command('KEYS', '*')) as string[];
    expect(keys.filter((key) => key.includes('10.0.0.3'))).toHaveLength(1);
    expect(count(OUTAGE_STARTS)).toBe(1);
  }, 30_000);
});
