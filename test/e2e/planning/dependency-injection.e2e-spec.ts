/** Throttles are singletons resolved through Nest's DI, and keep no per-request state. */
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';
import { FakeClock, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

@Injectable()
class TenantDirectory {
  tenantOf(apiKey: string | undefined): string | null {
    return apiKey ? `tenant-${apiKey.slice(0, 1)}` : null;
  }
}

/** Registered as a provider: built by Nest with its dependency. */
@Injectable()
class TenantThrottle extends SimpleRateThrottle {
  static instances = 0;
  override scope = 'tenant';
  constructor(private readonly directory: TenantDirectory) {
    super();
    TenantThrottle.instances++;
  }
  getCacheKey(request: ThrottleRequest): string | null {
    const tenant = this.directory.tenantOf(request.headers['x-api-key'] as string | undefined);
    return tenant === null ? null : this.formatKey(tenant);
  }
}

/** Not registered anywhere: the module builds it once, resolving its constructor dependency. */
@Injectable()
class UnregisteredThrottle extends SimpleRateThrottle {
  static instances = 0;
  override scope = 'unregistered';
  constructor(private readonly directory: TenantDirectory) {
    super();
    UnregisteredThrottle.instances++;
  }
  getCacheKey(request: ThrottleRequest): string | null {
    const tenant = this.directory.tenantOf(request.headers['x-api-key'] as string | undefined);
    return tenant === null ? null : this.formatKey(`u-${tenant}`);
  }
}

const clock = new FakeClock(1000);

/** Async key lookup, so concurrent requests interleave between allowRequest and wait. */
class ClientThrottle extends SimpleRateThrottle {
  override rate = '1/min';
  override scope = 'client';
  override timer = () => clock.now;
  async getCacheKey(request: ThrottleRequest): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
    return this.formatKey(String(request.headers['x-client']));
  }
}

@Controller()
class Views {
  @Get('tenant') @Throttle([TenantThrottle]) tenant() {
    return 'ok';
  }
  @Get('tenant2') @Throttle([TenantThrottle]) tenant2() {
    return 'ok';
  }
  @Get('unregistered') @Throttle([UnregisteredThrottle]) unregistered() {
    return 'ok';
  }
  @Get('client') @Throttle([ClientThrottle]) client() {
    return 'ok';
  }
}

@Module({ providers: [TenantDirectory, TenantThrottle], exports: [TenantDirectory] })
class TenantsModule {}

@Module({ imports: [TenantsModule], controllers: [Views] })
class FeatureModule {}

describe.each(PLATFORMS)('throttles through DI on %s', (platform) => {
  let t: TestApp;
  beforeEach(async () => {
    TenantThrottle.instances = 0;
    UnregisteredThrottle.instances = 0;
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { tenant: '2/min', unregistered: '1/min' } }), FeatureModule],
    });
  });
  afterEach(() => t.close());

  it('a registered provider is used with its injected service, one instance for every route', async () => {
    const key = { headers: { 'x-api-key': 'abc' } };
    expect((await t.request('/tenant', key)).status).toBe(200);
    expect((await t.request('/tenant2', key)).status).toBe(200);
    expect((await t.request('/tenant', key)).status).toBe(429);
    expect((await t.request('/tenant')).status).toBe(200); // no tenant: skipped
    expect(TenantThrottle.instances).toBe(1);
  });

  it('an unregistered class is built once with its dependencies', async () => {
    const key = { headers: { 'x-api-key': 'xyz' } };
    expect((await t.request('/unregistered', key)).status).toBe(200);
    expect((await t.request('/unregistered', key)).status).toBe(429);
    expect(UnregisteredThrottle.instances).toBe(1);
  });

  it('concurrent requests from many clients through one throttle each get their own wait', async () => {
    const clients = 40;
    // Client i makes its first request at t = 1000 + i; all come back together at t = 1050.
    for (let i = 0; i < clients; i++) {
      clock.now = 1000 + i;
      expect((await t.request('/client', { headers: { 'x-client': `c${i}` } })).status).toBe(200);
    }
    clock.now = 1050;
    const responses = await Promise.all(
      Array.from({ length: clients }, (_, i) => t.request('/client', { headers: { 'x-client': `c${i}` } })),
    );
    responses.forEach((response, i) => {
      expect(response.status).toBe(429);
      // DRF: remaining = 60 - (1050 - (1000 + i)) = 10 + i; one request available.
      expect(response.headers.get('retry-after')).toBe(String(10 + i));
    });
  });
});
