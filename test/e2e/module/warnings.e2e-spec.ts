/** Configuration that works but is probably wrong is reported once, at the right time. */
import { Controller, Get } from '@nestjs/common';
import { AnonRateThrottle, RestflowThrottleModule, Throttle, ThrottleScope } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp } from '../../helpers/http-app';

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
  @Get('scoped') @Throttle([AnonRateThrottle]) @ThrottleScope('uploads') scoped() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('warnings on %s', (platform) => {
  it('X-Forwarded-For ignored by the configuration: one warning, however many requests', async () => {
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      { imports: [RestflowThrottleModule.forRoot({ rates: { anon: '1000/min' } })], controllers: [View] },
      logger,
    );
    try {
      expect((await t.request('/')).status).toBe(200);
      expect(logger.warnings.filter((w) => w.includes('X-Forwarded-For'))).toHaveLength(0);
      for (let i = 0; i < 5; i++) await t.request('/', { headers: { 'x-forwarded-for': `1.1.1.${i}` } });
      expect(logger.warnings.filter((w) => w.includes('X-Forwarded-For'))).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('no warning when numProxies is set', async () => {
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      {
        imports: [RestflowThrottleModule.forRoot({ rates: { anon: '1000/min' }, numProxies: 1 })],
        controllers: [View],
      },
      logger,
    );
    try {
      await t.request('/', { headers: { 'x-forwarded-for': '1.1.1.1' } });
      expect(logger.warnings.filter((w) => w.includes('X-Forwarded-For'))).toHaveLength(0);
    } finally {
      await t.close();
    }
  });

  it('a @ThrottleScope on a route without ScopedRateThrottle: a startup warning naming the handler', async () => {
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      { imports: [RestflowThrottleModule.forRoot({ rates: { anon: '1000/min' } })], controllers: [View] },
      logger,
    );
    try {
      const warnings = logger.warnings.filter((w) => w.includes("throttle scope 'uploads'"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('View.scoped');
    } finally {
      await t.close();
    }
  });
});
