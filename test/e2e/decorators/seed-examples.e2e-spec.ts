/** The seed docs' configuration examples: opting out, ActionConfig, scopes, cache aliases, async hooks. */
import { Controller, Delete, Get, Post } from '@nestjs/common';
import {
  ActionConfig,
  AnonRateThrottle,
  BaseThrottle,
  MemoryThrottleStore,
  RestflowThrottleModule,
  ScopedRateThrottle,
  SimpleRateThrottle,
  SkipThrottle,
  Throttle,
  ThrottleScope,
  UserRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

let maintenance = false;

class MaintenanceThrottle extends BaseThrottle {
  async allowRequest(): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    return !maintenance;
  }
  override wait(): number {
    return 60;
  }
}

const throttlingCache = new MemoryThrottleStore();

class IsolatedThrottle extends SimpleRateThrottle {
  override cache = 'throttling';
  override scope = 'isolated';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller('articles')
@Throttle([AnonRateThrottle])
class ArticleView {
  @Get() list() {
    return [];
  }
  @Get('open') @Throttle([]) open() {
    return 'open';
  }
  @Get('skip') @SkipThrottle() skip() {
    return 'skip';
  }
}

@Controller('viewset')
@Throttle([UserRateThrottle])
@ActionConfig({ list: { throttles: [ScopedRateThrottle], throttleScope: 'list' } })
class ArticleViewSet {
  @Get() list() {
    return [];
  }
  @Delete(':id') @ActionConfig({ throttles: [ScopedRateThrottle], throttleScope: 'destroy' }) destroy() {
    return 'gone';
  }
  @Get(':id') retrieve() {
    return {};
  }
}

@Controller('reports')
@Throttle([ScopedRateThrottle])
class ReportViewSet {
  @Post('export') @ThrottleScope('exports') export() {
    return { ok: true };
  }
  @Get() list() {
    return [];
  }
}

@Controller('misc')
class MiscView {
  @Get('maintenance') @Throttle([MaintenanceThrottle]) maintenance() {
    return 'ok';
  }
  @Get('isolated') @Throttle([IsolatedThrottle]) isolated() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('seed examples on %s', (platform) => {
  let t: TestApp;
  beforeEach(async () => {
    maintenance = false;
    await throttlingCache.reset();
    t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [AnonRateThrottle],
          rates: { anon: '2/min', user: '3/min', list: '4/min', destroy: '1/min', exports: '1/min', isolated: '2/min' },
          caches: { throttling: throttlingCache },
        }),
      ],
      controllers: [ArticleView, ArticleViewSet, ReportViewSet, MiscView],
    });
  });
  afterEach(() => t.close());

  const statuses = async (path: string, n: number, method = 'GET') => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await t.request(path, { method })).status);
    return out;
  };

  it('the class throttles apply to handlers without their own', async () => {
    expect(await statuses('/articles', 3)).toEqual([200, 200, 429]);
  });

  it('@Throttle([]) and @SkipThrottle() opt out of class and default throttles', async () => {
    expect(await statuses('/articles/open', 5)).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses('/articles/skip', 5)).toEqual([200, 200, 200, 200, 200]);
  });

  it('class-map ActionConfig gives list its own scope instead of the class UserRateThrottle', async () => {
    expect(await statuses('/viewset', 5)).toEqual([200, 200, 200, 200, 429]);
  });

  it('method ActionConfig gives destroy its own scope', async () => {
    expect(await statuses('/viewset/1', 2, 'DELETE')).toEqual([200, 429]);
  });

  it('a handler without ActionConfig keeps the class throttle (user 3/min)', async () => {
    expect(await statuses('/viewset/1', 4)).toEqual([200, 200, 200, 429]);
  });

  it('a custom action with its own scope: exports 1/min; unscoped handlers are not throttled', async () => {
    expect(await statuses('/reports/export', 2, 'POST')).toEqual([201, 429]);
    expect(await statuses('/reports', 5)).toEqual([200, 200, 200, 200, 200]);
  });

  it('an async BaseThrottle with only allowRequest and wait()', async () => {
    expect((await t.request('/misc/maintenance')).status).toBe(200);
    maintenance = true;
    const response = await t.request('/misc/maintenance');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('60');
    expect(response.body).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
  });

  it('a throttle on its own cache alias counts there, not in the default cache', async () => {
    expect(await statuses('/misc/isolated', 3)).toEqual([200, 200, 429]);
    // One client, one key, in the aliased store only.
    expect(throttlingCache.size).toBe(1);
  });
});
