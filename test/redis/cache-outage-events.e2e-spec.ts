/**
 * Cache outage events: one `down` when a Redis outage begins, one `up` when
 * it ends, the same moments as the two warnings, and the Prometheus recipe's
 * gauge following them.
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule, Throttle, type CacheOutageEvent } from 'restflow-throttle';
import { PrometheusThrottleMetrics } from '../../sample/metrics/prometheus-throttle-metrics';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

@Controller('o')
class OutageController {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('cache outage events on %s', (platform) => {
  let server: RedisServer;
  let client: Redis;
  let t: TestApp;
  const outages: CacheOutageEvent[] = [];
  const metrics = new PrometheusThrottleMetrics();
  const logger = new CapturingLogger();

  beforeAll(async () => {
    server = await RedisServer.start();
    client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => undefined);
    t = await startApp(
      platform,
      {
        imports: [
          RestflowThrottleModule.forRoot({
            rates: { anon: '1000/min' },
            cache: client,
            cacheTimeoutMs: 100,
            events: [{ cacheOutage: (e) => void outages.push(e) }, metrics],
          }),
        ],
        controllers: [OutageController],
      },
      logger,
    );
  });
  afterAll(async () => {
    await t?.close();
    client?.disconnect();
    await server?.dispose();
  });

  const cacheUp = async (): Promise<number | undefined> =>
    (await metrics.registry.getSingleMetric('restflow_throttle_cache_up')!.get()).values.find(
      (v) => v.labels.cache === 'default',
    )?.value;

  it('reports one down when Redis goes away and one up when it is back, as the warnings do', async () => {
    expect((await t.request('/o')).status).toBe(200);
    expect(outages).toEqual([]);

    await server.stop('SIGKILL');
    for (let i = 0; i < 5; i++) expect((await t.request('/o')).status).toBe(200); // onCacheError 'allow'
    expect(outages).toEqual([{ cache: 'default', state: 'down', reason: expect.any(String) }]);
    expect(await cacheUp()).toBe(0);

    await server.restart();
    await until(
      'the cache is reported back',
      async () => {
        await t.request('/o');
        return outages.length > 1;
      },
      15_000,
    );
    expect(outages.map((e) => e.state)).toEqual(['down', 'up']);
    expect(outages[1]).toEqual({ cache: 'default', state: 'up' });
    expect(await cacheUp()).toBe(1);
    const warnings = logger.warnings.filter((m) => /Throttle cache 'default' is (unavailable|available again)/.test(m));
    expect(warnings).toHaveLength(2);
  }, 30_000);
});
