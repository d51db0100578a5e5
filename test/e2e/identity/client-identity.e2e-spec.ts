/** DRF's XffSpoofingTests and XffUniqueMachinesTest, plus our safe default without numProxies. */
import { Controller, Get } from '@nestjs/common';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return { ok: true };
  }
}

describe.each(PLATFORMS)('client identity on %s', (platform) => {
  let t: TestApp;
  const start = async (numProxies?: number) => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { anon: '1/day' }, numProxies })],
      controllers: [View],
    });
  };
  const get = (xff?: string) => t.request('/', { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
  afterEach(() => t.close());

  it('numProxies 0: accepts a request under the limit, denies over it', async () => {
    await start(0);
    expect((await get('0.0.0.0, 1.1.1.1, 2.2.2.2')).status).toBe(200);
    expect((await get('4.4.4.4, 5.5.5.5, 6.6.6.6')).status).toBe(429);
  });

  it('numProxies 1: spoofing the left of X-Forwarded-For does not change the client', async () => {
    await start(1);
    expect((await get('0.0.0.0, 1.1.1.1, 2.2.2.2')).status).toBe(200);
    expect((await get('4.4.4.4, 5.5.5.5, 2.2.2.2')).status).toBe(429);
  });

  it('numProxies 2: spoofing the left of X-Forwarded-For does not change the client', async () => {
    await start(2);
    expect((await get('0.0.0.0, 1.1.1.1, 2.2.2.2')).status).toBe(200);
    expect((await get('4.4.4.4, 1.1.1.1, 2.2.2.2')).status).toBe(429);
  });

  it('numProxies 1: distinct clients are counted independently', async () => {
    await start(1);
    expect((await get('0.0.0.0, 1.1.1.1, 2.2.2.2')).status).toBe(200);
    expect((await get('0.0.0.0, 1.1.1.1, 7.7.7.7')).status).toBe(200);
  });

  it('numProxies 2: distinct clients are counted independently', async () => {
    await start(2);
    expect((await get('0.0.0.0, 1.1.1.1, 2.2.2.2')).status).toBe(200);
    expect((await get('0.0.0.0, 7.7.7.7, 2.2.2.2')).status).toBe(200);
  });

  it('numProxies unset: rotating X-Forwarded-For does not escape the limit', async () => {
    await start();
    expect((await get('1.1.1.1')).status).toBe(200);
    expect((await get('2.2.2.2')).status).toBe(429);
    expect((await get('3.3.3.3, 4.4.4.4')).status).toBe(429);
    expect((await get()).status).toBe(429);
  });
});
