/**
 * All the throttles of a request cost one network round trip to Redis,
 * counted on the server: `total_reads_processed` (one read event per batch
 * the client writes) and `INFO commandstats` (one EVALSHA per throttle).
 */
import { Controller, Get } from '@nestjs/common';
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  ScopedRateThrottle,
  SimpleRateThrottle,
  Throttle,
  ThrottleScope,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { parseCommandCalls, parseInfo, RedisServer } from '../helpers/redis-server';
import { ClientHeaderThrottle } from '../helpers/store-contract';

class BurstThrottle extends ClientHeaderThrottle {
  override scope = 'burst';
}
/** An async key, as a throttle that looks something up would have: it must still join the batch. */
class SustainedThrottle extends SimpleRateThrottle {
  override scope = 'sustained';
  async getCacheKey(request: ThrottleRequest): Promise<string> {
    await Promise.resolve();
    return this.formatKey(String(request.headers['x-client']));
  }
}

@Controller()
class Views {
  @Get('stacked')
  @ThrottleScope('uploads')
  @Throttle([AnonRateThrottle, BurstThrottle, SustainedThrottle, ScopedRateThrottle])
  stacked() {
    return 'ok';
  }
}

const THROTTLES = 4;
const RATES = { anon: '1000/min', burst: '1000/min', sustained: '1000/hour', uploads: '1000/day' };

describe.each(PLATFORMS)('one Redis round trip per request on %s', (platform) => {
  let server: RedisServer;
  let appClient: Redis;
  let admin: Redis;
  let t: TestApp;

  beforeAll(async () => {
    server = await RedisServer.start();
    appClient = new Redis({ host: '127.0.0.1', port: server.port });
    // One long-lived admin connection: each INFO it sends is exactly one read event.
    admin = new Redis({ host: '127.0.0.1', port: server.port });
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: RATES, cache: await caching(redisInsStore(appClient)) })],
      controllers: [Views],
    });
    await t.request('/stacked', { headers: { 'x-client': 'warm-up' } }); // loads the script (NOSCRIPT, EVAL)
  });
  afterAll(async () => {
    await t?.close();
    await appClient?.quit();
    await admin?.quit();
    await server?.dispose();
  });

  /** Server-side counts around `action`: read events, and EVALSHA and EVAL calls. */
  async function measure(action: () => Promise<unknown>): Promise<{ reads: number; evalsha: number; eval: number }> {
    const snapshot = async () => {
      const stats = parseInfo(await admin.info('stats'));
      const commands = parseCommandCalls(await admin.info('commandstats'));
      const [evalsha, evalCalls] = [commands.get('evalsha') ?? 0, commands.get('eval') ?? 0];
      return { reads: Number(stats.get('total_reads_processed')), evalsha, eval: evalCalls };
    };
    const before = await snapshot();
    await action();
    const after = await snapshot();
    // The second snapshot's two INFO commands are two reads of their own.
    return {
      reads: after.reads - before.reads - 2,
      evalsha: after.evalsha - before.evalsha,
      eval: after.eval - before.eval,
    };
  }

  it(`sends the ${THROTTLES} throttles of each request as one script, in one round trip`, async () => {
    const requests = 10;
    const counted = await measure(async () => {
      for (let i = 0; i < requests; i++) {
        expect((await t.request('/stacked', { headers: { 'x-client': `sequential-${i}` } })).status).toBe(200);
      }
    });
    // One EVALSHA a request: no resend, and no EVAL after a NOSCRIPT (the script is loaded by the warm-up).
    expect(counted.evalsha).toBe(requests);
    expect(counted.eval).toBe(0);
    // And one read event a request. Redis counts a read event per wake-up of a connection: in one loaded CI run it
    // counted 11 for these 10 requests, with 10 EVALSHA, which no round trip explains. Two round
    // trips a request would be 20.
    expect(counted.reads).toBeGreaterThanOrEqual(requests);
    expect(counted.reads).toBeLessThanOrEqual(requests + 1);
  });

  it('needs no more round trips than requests when requests arrive together', async () => {
    const requests = 20;
    const counted = await measure(() =>
      Promise.all(
        Array.from({ length: requests }, (_, i) => t.request('/stacked', { headers: { 'x-client': `together-${i}` } })),
      ),
    );
    // One script per batch: the hits of requests that arrive together share scripts.
    expect(counted.evalsha).toBeGreaterThanOrEqual(1);
    expect(counted.evalsha).toBeLessThanOrEqual(requests);
    expect(counted.eval).toBe(0);
    expect(counted.reads).toBeGreaterThanOrEqual(1);
    expect(counted.reads).toBeLessThanOrEqual(requests);
  });
});
