/**
 * `{route}` in `cacheFormat` with Redis counting (issue 21 item 3): each route has its own keys in Redis, and
 * resetThrottles(app) finds and deletes them through the globs the throttles registered (SCAN MATCH), leaving
 * the app's other keys alone.
 */
import { Controller, Get } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AnonRateThrottle, resetThrottles, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../helpers/http-app';
import { RedisServer } from '../helpers/redis-server';

class PerRouteAnonThrottle extends AnonRateThrottle {
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

@Controller('rk')
@Throttle([PerRouteAnonThrottle])
class RouteKeysController {
  @Get('a') a() {
    return 'a';
  }
  @Get('b') b() {
    return 'b';
  }
}

/** A class name that needs encoding, glob characters included. */
const Odd = {
  'Odd*[Controller]?': class {
    get() {
      return 'odd';
    }
  },
}['Odd*[Controller]?'];
Get()(Odd.prototype, 'get', Object.getOwnPropertyDescriptor(Odd.prototype, 'get') as PropertyDescriptor);
Throttle([PerRouteAnonThrottle])(Odd);
Controller('odd')(Odd);

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(() => server?.dispose());

describe.each(PLATFORMS)('Redis: {route} keys on %s', (platform) => {
  let client: Redis;
  let t: TestApp;
  beforeEach(async () => {
    client = new Redis({ host: '127.0.0.1', port: server.port });
    await client.flushall();
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' }, cache: client })],
      controllers: [RouteKeysController, Odd],
    });
  });
  afterEach(async () => {
    await t.close();
    client.disconnect();
  });

  const statuses = async (path: string, n: number): Promise<number[]> => {
    const result: number[] = [];
    for (let i = 0; i < n; i++) result.push((await t.request(path)).status);
    return result;
  };

  it('counts each route under its own key, and resetThrottles(app) deletes them all, nothing else', async () => {
    await client.set('app:other', '1');
    expect(await statuses('/rk/a', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/rk/b', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/odd', 3)).toEqual([200, 200, 429]);
    expect((await client.keys('throttle_*')).sort()).toEqual([
      'throttle_anon_Odd%2A%5BController%5D%3F.get_ip:127.0.0.1',
      'throttle_anon_RouteKeysController.a_ip:127.0.0.1',
      'throttle_anon_RouteKeysController.b_ip:127.0.0.1',
    ]);
    await resetThrottles(t.app);
    expect(await client.keys('*')).toEqual(['app:other']);
    expect(await statuses('/rk/a', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/odd', 1)).toEqual([200]);
  });
});
