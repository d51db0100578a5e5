import { Controller, Get } from '@nestjs/common';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, startApp } from '../../helpers/http-app';

@Controller('a')
class AController {
  @Get()
  @Throttle([AnonRateThrottle])
  get() {
    return { ok: true };
  }
}

describe.each(PLATFORMS)('smoke on %s', (platform) => {
  it('throttles the fourth request', async () => {
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '3/min' } })],
      controllers: [AController],
    });
    try {
      for (let i = 0; i < 3; i++) expect((await t.request('/a')).status).toBe(200);
      const r = await t.request('/a');
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('60');
      expect(r.body).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });
    } finally {
      await t.close();
    }
  });
});
