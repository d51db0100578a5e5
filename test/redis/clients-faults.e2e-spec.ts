/**
 * node-redis faults, given directly and inside @keyv/redis: the test's own
 * redis-server is killed while the app runs. Requests are let through
 * (onCacheError 'allow'), never a 500, with one warning when the outage
 * starts and one when it ends; once node-redis has reconnected by itself
 * the limit is exact again, without an app restart. (ioredis faults are
 * covered by faults.e2e-spec.ts.)
 */
import KeyvRedis from '@keyv/redis';
import { Controller, Get } from '@nestjs/common';
import { Keyv } from 'keyv';
import { createClient } from 'redis';
import { AnonRateThrottle, RestflowThrottleModule, Throttle, type ThrottleCacheLike } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';
import { until } from '../helpers/until';

@Controller()
class View {
  @Get()
  @Throttle([AnonRateThrottle])
  get() {
    return 'ok';
  }
}

/** A node-redis client as the app holds it, and whether it is connected right now. */
interface Form {
  name: string;
  open(url: string): Promise<{ cache: ThrottleCacheLike; isReady(): boolean; close(): Promise<unknown> }>;
}

const forms: Form[] = [
  {
    name: 'node-redis given directly',
    open: async (url) => {
      const client = await createClient({ url })
        .on('error', () => undefined)
        .connect();
      return { cache: client, isReady: () => client.isReady, close: () => client.close() };
    },
  },
  {
    name: 'a Keyv on @keyv/redis',
    open: async (url) => {
      const store = new KeyvRedis(url);
      const keyv = new Keyv({ store }).on('error', () => undefined);
      // @keyv/redis was given a URL, so its client is a plain node-redis client (not a cluster or sentinel).
      const client = store.client as { isReady: boolean };
      return { cache: keyv, isReady: () => client.isReady, close: () => store.disconnect() };
    },
  },
];

describe.each(PLATFORMS)('on %s', (platform) => {
  describe.each(forms)('$name', (form) => {
    let server: RedisServer;
    let opened: Awaited<ReturnType<Form['open']>>;
    let t: TestApp;
    let logger: CapturingLogger;
    let run = 0;

    beforeAll(async () => {
      server = await RedisServer.start();
      opened = await form.open(server.url);
      logger = new CapturingLogger();
      t = await startApp(
        platform,
        {
          imports: [
            RestflowThrottleModule.forRoot({
              rates: { anon: '3/min' },
              numProxies: 1,
              cacheTimeoutMs: 500,
              cache: opened.cache,
            }),
          ],
          controllers: [View],
        },
        logger,
      );
    });
    afterAll(async () => {
      await t?.close();
      await opened?.close();
      await server?.dispose();
    });

    const statusesOf = async (count: number) => {
      const client = `${platform}-${form.name.length}-${++run}`;
      const statuses: number[] = [];
      for (let i = 0; i < count; i++)
        statuses.push((await t.request('/', { headers: { 'x-forwarded-for': client } })).status);
      return statuses;
    };

    it('limits exactly, lets requests through while Redis is down, and limits exactly again once node-redis reconnects', async () => {
      expect(await statusesOf(4)).toEqual([200, 200, 200, 429]);

      await server.stop();
      await until('node-redis notices the server is gone', () => !opened.isReady());
      expect(await statusesOf(5)).toEqual([200, 200, 200, 200, 200]);
      expect(logger.warnings.filter((line) => /is unavailable/.test(line))).toHaveLength(1);

      await server.restart();
      await until('node-redis reconnects by itself', () => opened.isReady(), 10_000);
      // The outage is declared over on the first answered hit after a quiet second.
      await until(
        'the outage is declared over',
        async () => (await statusesOf(1)) && logger.warnings.some((line) => /available again/.test(line)),
        10_000,
      );
      expect(await statusesOf(4)).toEqual([200, 200, 200, 429]);
      expect(logger.warnings.filter((line) => /available again/.test(line))).toHaveLength(1);
      expect(logger.errors).toEqual([]);
    }, 30_000);
  });
});
