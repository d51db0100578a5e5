/**
 * Docs: configuration. Default throttle classes (anon + user) on a
 * controller that names none, opting out with `@Throttle([])`, a health
 * route with no throttle, NUM_PROXIES; and the pitfall "a missing rate
 * silently allows every request", which here stops the app from starting.
 */
import { Test } from '@nestjs/testing';
import { ImproperlyConfiguredError, RESTFLOW_THROTTLE_OPTIONS, type RestflowThrottleOptions } from 'restflow-throttle';
import { AppModule } from '../../sample/app.module';
import { settingsFromEnv } from '../../sample/config/sample-settings';
import type { SampleCaches } from '../../sample/cache';
import { SAMPLE_CACHES } from '../../sample/cache-backend/sample-caches.module';
import { SAMPLE_RATES } from '../../sample/configuration/rates';
import { throttlingOptions } from '../../sample/configuration/throttling-options';
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('configuration on %s', (platform) => {
  const t = useSample(platform);

  it('applies the default throttles (anon 3/min, user 10/min) to a controller that names none', async () => {
    expect(await statuses(t, 3, '/catalog')).toEqual([200, 200, 200]);
    expectThrottled(await t.request('/catalog'), 60);
    expect(await statuses(t, 10, '/catalog', signedIn('alice'))).toEqual(Array(10).fill(200));
    expectThrottled(await t.request('/catalog', signedIn('alice')), 60);
  });

  it('lets a route opt out of the defaults with @Throttle([])', async () => {
    expect(await statuses(t, 4, '/catalog')).toEqual([200, 200, 200, 429]);
    expect(await statuses(t, 20, '/catalog/terms')).toEqual(Array(20).fill(200));
  });

  it('never throttles the health check or the index', async () => {
    expect(await statuses(t, 20, '/health')).toEqual(Array(20).fill(200));
    expect(await statuses(t, 20, '/')).toEqual(Array(20).fill(200));
    expect((await t.request('/health')).body).toEqual({ status: 'ok' });
  });
});

describe.each(PLATFORMS)('NUM_PROXIES on %s', (platform) => {
  const t = useSample(platform, { numProxies: 1 });

  it('identifies clients by the address the one proxy in front appended to X-Forwarded-For', async () => {
    const from = (xff: string) => ({ headers: { 'x-forwarded-for': xff } });
    expect(await statuses(t, 4, '/articles', from('203.0.113.7'))).toEqual([200, 200, 200, 429]);
    // What the client wrote itself (left of the proxy's entry) changes nothing.
    expect((await t.request('/articles', from('10.0.0.1, 203.0.113.7'))).status).toBe(429);
    expect((await t.request('/articles', from('203.0.113.8'))).status).toBe(200);
  });
});

describe('startup checks on the sample', () => {
  async function initWith(rates: Record<string, string | null>): Promise<void> {
    const settings = settingsFromEnv({});
    // The sample's own options, only the rates changed.
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(settings)] })
      .overrideProvider(RESTFLOW_THROTTLE_OPTIONS)
      .useFactory({
        factory: (caches: SampleCaches): RestflowThrottleOptions => ({ ...throttlingOptions(settings, caches), rates }),
        inject: [SAMPLE_CACHES],
      })
      .compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      await app.init();
    } finally {
      await app.close();
    }
  }

  it('starts with the sample rates', async () => {
    await expect(initWith(SAMPLE_RATES)).resolves.toBeUndefined();
  });

  it('refuses to start when a scope a route uses has no rate, naming the scope and the handler', async () => {
    const { tenant: _, ...withoutTenant } = SAMPLE_RATES;
    const failure = initWith(withoutTenant);
    await expect(failure).rejects.toThrow(ImproperlyConfiguredError);
    await expect(failure).rejects.toThrow(
      "No default throttle rate set for 'tenant' scope (on TenantProjectsController.list)",
    );
  });

  it('prints the handler too: the stack Node and `npm start` show begins with the full message', async () => {
    const { tenant: _, ...withoutTenant } = SAMPLE_RATES;
    const error = (await initWith(withoutTenant).catch((e: unknown) => e)) as Error;
    expect(error.stack?.split('\n')[0]).toBe(
      "ImproperlyConfiguredError [RFT_MISSING_RATE]: No default throttle rate set for 'tenant' scope (on TenantProjectsController.list)",
    );
  });

  it('refuses to start when a ScopedRateThrottle scope has no rate', async () => {
    const { exports: _, ...withoutExports } = SAMPLE_RATES;
    await expect(initWith(withoutExports)).rejects.toThrow(
      "No default throttle rate set for 'exports' scope (on ReportViewSet.export)",
    );
  });
});
