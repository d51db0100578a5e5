/** ThrottledExceptionFilter also works when built by hand and bound with useGlobalFilters/@UseFilters. */
import { Controller, Get, UseFilters } from '@nestjs/common';
import { ThrottledException, ThrottledExceptionFilter } from 'restflow-throttle';
import { PLATFORMS, startApp } from '../../helpers/http-app';

@Controller()
@UseFilters(new ThrottledExceptionFilter())
class View {
  @Get('wait') wait() {
    throw new ThrottledException(41.5);
  }
  @Get('nowait') nowait() {
    throw new ThrottledException(0, 'Slow down!');
  }
}

describe.each(PLATFORMS)('a hand-built ThrottledExceptionFilter on %s', (platform) => {
  it('sends 429, the body and Retry-After only for a truthy wait', async () => {
    const t = await startApp(platform, { controllers: [View] });
    try {
      let response = await t.request('/wait');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('42');
      expect(response.body).toEqual({ detail: 'Request was throttled. Expected available in 42 seconds.' });
      response = await t.request('/nowait');
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(response.body).toEqual({ detail: 'Slow down! Expected available in 0 seconds.' });
    } finally {
      await t.close();
    }
  });
});
