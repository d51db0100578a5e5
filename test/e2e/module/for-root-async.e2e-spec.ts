/** forRootAsync: options from a factory with an injected config service. */
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { AnonRateThrottle, RestflowThrottleModule, Throttle } from 'restflow-throttle';
import { PLATFORMS, startApp } from '../../helpers/http-app';

@Injectable()
class ConfigService {
  private readonly values: Record<string, string> = { ANON_RATE: '2/min' };
  get(name: string): string {
    return this.values[name];
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

describe.each(PLATFORMS)('forRootAsync on %s', (platform) => {
  it('reads its rates from an injected config service', async () => {
    const t = await startApp(platform, {
      imports: [
        RestflowThrottleModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: async (config: ConfigService) => ({ rates: { anon: config.get('ANON_RATE') } }),
        }),
      ],
      controllers: [View],
    });
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await t.request('/')).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await t.close();
    }
  });

  it('validates what the factory returns', async () => {
    await expect(
      startApp(platform, {
        imports: [RestflowThrottleModule.forRootAsync({ useFactory: () => ({ rates: { anon: 'lots' } }) })],
        controllers: [View],
      }),
    ).rejects.toThrow(/Invalid throttle rate 'lots' for scope 'anon'/);
  });
});
