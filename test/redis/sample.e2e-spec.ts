/**
 * Docs: cache backend. With `REDIS_URL` the sample keeps every counter in
 * Redis, so two processes of it (here: two apps, one on Express and one on
 * Fastify) share one quota; and closing the app closes its connections.
 */
import { createSampleApp } from '../../sample/app.factory';
import { settingsFromEnv } from '../../sample/config/sample-settings';
import { serve, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { expectThrottled } from '../helpers/sample-app';
import { until } from '../helpers/until';

describe('the sample with REDIS_URL', () => {
  let redis: RedisServer;
  let apps: TestApp[];
  beforeAll(async () => {
    redis = await RedisServer.start();
    const settings = settingsFromEnv({ REDIS_URL: redis.url });
    apps = [
      await serve(await createSampleApp({ ...settings, platform: 'express' }, false)),
      await serve(await createSampleApp({ ...settings, platform: 'fastify' }, false)),
    ];
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await redis.dispose();
  });
  beforeEach(() => redis.command('FLUSHALL'));

  it('shares the anonymous quota between the processes: 3 a minute in all', async () => {
    const [express, fastify] = apps;
    expect((await express.request('/articles')).status).toBe(200);
    expect((await fastify.request('/articles')).status).toBe(200);
    expect((await express.request('/articles')).status).toBe(200);
    expectThrottled(await fastify.request('/articles'), 60);
    expect(await redis.command('LLEN', 'throttle_anon_ip:127.0.0.1')).toBe(3);
  });

  it('keeps IsolatedThrottle counters in Redis too, through the throttling alias', async () => {
    for (let i = 0; i < 5; i++) expect((await apps[i % 2].request('/search?q=x')).status).toBe(200);
    expectThrottled(await apps[1].request('/search?q=x'), 60);
    expect(await redis.command('LLEN', 'throttle_isolated_ip:127.0.0.1')).toBe(5);
  });

  it('opens one connection per cache and closes them when the app closes', async () => {
    const clients = async () =>
      String(await redis.command('CLIENT', 'LIST'))
        .trim()
        .split('\n').length;
    const before = await clients();
    const app = await createSampleApp({ ...settingsFromEnv({ REDIS_URL: redis.url }), platform: 'express' }, false);
    await app.init();
    await until('both caches are connected', async () => (await clients()) === before + 2);
    await app.close();
    await until('both connections are closed', async () => (await clients()) === before);
  });
});

describe("the sample with REDIS_URL and PROCESSES=3, when Redis goes away (onCacheError: 'local')", () => {
  let redis: RedisServer;
  let app: TestApp;
  beforeAll(async () => {
    redis = await RedisServer.start();
    app = await serve(await createSampleApp(settingsFromEnv({ REDIS_URL: redis.url, PROCESSES: '3' }), false));
  });
  afterAll(async () => {
    await app?.close();
    await redis?.dispose();
  });

  it('limits in process at a third of each rate while Redis is down, and shares Redis again once it is back', async () => {
    expect((await app.request('/articles')).status).toBe(200);
    expect(await redis.command('LLEN', 'throttle_anon_ip:127.0.0.1')).toBe(1);
    await redis.stop();
    // anon is 3/min: a third of it, 1, in this process; the refusal's wait is this process's own.
    expect((await app.request('/articles')).status).toBe(200);
    expectThrottled(await app.request('/articles'), 60);
    await redis.restart();
    // Back on Redis once it answers (after a quiet second): its count went on from 1 (Redis keeps nothing on disk
    // here, so a restarted server starts empty: 3 more for this minute).
    await until('Redis decides again', async () => {
      await redis.command('FLUSHALL');
      return (
        (await app.request('/articles')).status === 200 &&
        (await redis.command('EXISTS', 'throttle_anon_ip:127.0.0.1')) === 1
      );
    });
  });
});
