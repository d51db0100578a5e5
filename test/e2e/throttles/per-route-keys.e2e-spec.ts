/**
 * Per-route counting without a scope per route (issue 21 item 3): `{route}` in
 * `cacheFormat` puts the route's controller and handler into the key, so one
 * throttle class counts each route apart, as @nestjs/throttler does by default.
 * The route is bound once, at startup (forRoute() returns a view of the shared
 * throttle); resetThrottles() still finds every key.
 */
import { jest } from '@jest/globals';
import { Controller, Get } from '@nestjs/common';
import {
  AnonRateThrottle,
  MemoryThrottleStore,
  resetThrottles,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  ThrottleScope,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** The peer's default: each route and client has its own counter. */
class PerRouteAnonThrottle extends AnonRateThrottle {
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

/** A scope shared by routes, counted per route. */
class PerRouteScopedThrottle extends ScopedRateThrottle {
  override cacheFormat = 'throttle_{scope}_{route}_{ident}';
}

@Controller('articles')
@Throttle([PerRouteAnonThrottle])
class ArticlesController {
  @Get() list() {
    return 'list';
  }
  @Get('one') show() {
    return 'one';
  }
}

@Controller('shared')
@Throttle([AnonRateThrottle])
class SharedController {
  @Get('a') a() {
    return 'a';
  }
  @Get('b') b() {
    return 'b';
  }
}

@Controller('scoped')
@Throttle([PerRouteScopedThrottle])
@ThrottleScope('search')
class ScopedController {
  @Get('a') a() {
    return 'a';
  }
  @Get('b') b() {
    return 'b';
  }
}

/** One handler inherited by two controllers: a plan, and a route name, per controller. */
class BaseListing {
  @Get() list() {
    return 'listed';
  }
}
@Controller('posts')
@Throttle([PerRouteAnonThrottle])
class PostsController extends BaseListing {}
@Controller('pages')
@Throttle([PerRouteAnonThrottle])
class PagesController extends BaseListing {}

/** A class name no key may hold as written (a space, non-ASCII letters, a glob character). */
const Odd = {
  'Café Ü*Controller': class {
    get() {
      return 'odd';
    }
  },
}['Café Ü*Controller'];
Get()(Odd.prototype, 'get', Object.getOwnPropertyDescriptor(Odd.prototype, 'get') as PropertyDescriptor);
Throttle([PerRouteAnonThrottle])(Odd);
Controller('odd')(Odd);

/** The memory store, remembering every key it was asked about. */
function recordingStore(): MemoryThrottleStore & { keys: Set<string> } {
  const store = new MemoryThrottleStore();
  const keys = new Set<string>();
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => (keys.add(key), hit(key, ...rest)));
  return Object.assign(store, { keys });
}

describe.each(PLATFORMS)('{route} in cacheFormat on %s', (platform) => {
  let t: TestApp;
  let store: ReturnType<typeof recordingStore>;
  beforeEach(async () => {
    store = recordingStore();
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min', search: '2/min' }, cache: store })],
      controllers: [ArticlesController, SharedController, ScopedController, PostsController, PagesController, Odd],
    });
  });
  afterEach(() => t.close());

  const statuses = async (path: string, n: number): Promise<number[]> => {
    const result: number[] = [];
    for (let i = 0; i < n; i++) result.push((await t.request(path)).status);
    return result;
  };

  it('one throttle class counts each route apart, keyed by controller and handler', async () => {
    expect(await statuses('/articles', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/articles/one', 3)).toEqual([200, 200, 429]);
    expect(store.keys).toEqual(
      new Set([
        'throttle_anon_ArticlesController.list_ip:127.0.0.1',
        'throttle_anon_ArticlesController.show_ip:127.0.0.1',
      ]),
    );
  });

  it('without {route}, the routes of a scope share one counter (DRF, and the default here)', async () => {
    expect(await statuses('/shared/a', 2)).toEqual([200, 200]);
    expect(await statuses('/shared/b', 1)).toEqual([429]);
    expect(store.keys).toEqual(new Set(['throttle_anon_ip:127.0.0.1']));
  });

  it('ScopedRateThrottle with {route}: routes sharing a scope (and its rate) count apart', async () => {
    expect(await statuses('/scoped/a', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/scoped/b', 3)).toEqual([200, 200, 429]);
    expect(store.keys).toEqual(
      new Set(['throttle_search_ScopedController.a_ip:127.0.0.1', 'throttle_search_ScopedController.b_ip:127.0.0.1']),
    );
  });

  it('a handler inherited by two controllers counts per controller', async () => {
    expect(await statuses('/posts', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/pages', 3)).toEqual([200, 200, 429]);
    expect(store.keys).toEqual(
      new Set(['throttle_anon_PostsController.list_ip:127.0.0.1', 'throttle_anon_PagesController.list_ip:127.0.0.1']),
    );
  });

  it('a route name that is not key-safe is percent-encoded: printable, no glob or hash-tag character', async () => {
    expect(await statuses('/odd', 3)).toEqual([200, 200, 429]);
    expect([...store.keys]).toEqual(['throttle_anon_Caf%C3%A9%20%C3%9C%2AController.get_ip:127.0.0.1']);
  });

  it('resetThrottles(app) forgets the counts of every route', async () => {
    expect(await statuses('/articles', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/odd', 3)).toEqual([200, 200, 429]);
    await resetThrottles(t.app);
    expect(await statuses('/articles', 3)).toEqual([200, 200, 429]);
    expect(await statuses('/odd', 3)).toEqual([200, 200, 429]);
  });
});
