/** Nest conventions: forRootAsync's three ways, and the module's log lines going through the app's logger. */
import { jest } from '@jest/globals';
import {
  ConsoleLogger,
  Controller,
  Get,
  Injectable,
  Module,
  type DynamicModule,
  type LoggerService,
} from '@nestjs/common';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  type RestflowThrottleAsyncOptions,
  type RestflowThrottleOptions,
  type RestflowThrottleOptionsFactory,
} from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

@Injectable()
class AppConfig {
  readonly anonRate = '2/min';
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
class AppConfigModule {}

/** `useClass`: built by the module, with its own injected dependency. */
@Injectable()
class ThrottleConfigFromClass implements RestflowThrottleOptionsFactory {
  constructor(private readonly config: AppConfig) {}
  createThrottleOptions(): RestflowThrottleOptions {
    return { rates: { anon: this.config.anonRate } };
  }
}

/** `useExisting`: a provider the app already has, exported by its module. */
@Injectable()
class SharedThrottleConfig implements RestflowThrottleOptionsFactory {
  async createThrottleOptions(): Promise<RestflowThrottleOptions> {
    return { rates: { anon: '2/min' } };
  }
}

@Module({ providers: [SharedThrottleConfig], exports: [SharedThrottleConfig] })
class SharedConfigModule {}

@Controller()
class View {
  @Get() @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
  /** No scope on the route: the module warns at startup. */
  @Get('unscoped') @Throttle([ScopedRateThrottle]) unscoped() {
    return 'ok';
  }
}

const WAYS: Array<[string, RestflowThrottleAsyncOptions]> = [
  [
    'useFactory',
    {
      imports: [AppConfigModule],
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ rates: { anon: config.anonRate } }),
    },
  ],
  ['useClass', { imports: [AppConfigModule], useClass: ThrottleConfigFromClass }],
  ['useExisting', { imports: [SharedConfigModule], useExisting: SharedThrottleConfig }],
];

describe.each(PLATFORMS)('Nest conventions on %s', (platform) => {
  it.each(WAYS)('forRootAsync with %s', async (_, options) => {
    const t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRootAsync(options)],
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

  it("routes the module's log lines through the app's logger", async () => {
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      { imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' } })], controllers: [View] },
      logger,
    );
    await t.close();
    expect(
      logger.warnings.filter((m) => m.includes('View.unscoped uses ScopedRateThrottle but has no throttle scope')),
    ).toHaveLength(1);
  });

  /** What the app prints to stdout and stderr while it starts, serves one request and stops. */
  async function printed(logger: LoggerService | false): Promise<string[]> {
    const written: string[] = [];
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    let t: TestApp | undefined;
    try {
      t = await startApp(
        platform,
        { imports: [RestflowThrottleModule.forRoot({ rates: { anon: '2/min' } })], controllers: [View] },
        logger,
      );
      await t.request('/unscoped');
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      await t?.close();
    }
    return written.filter((line) => line.includes('no throttle scope'));
  }

  it('is silenced by logger: false, as any Nest module', async () => {
    expect(await printed(new ConsoleLogger())).toEqual([expect.stringContaining('RestflowThrottle')]);
    expect(await printed(false)).toEqual([]);
  });
});

describe('forRootAsync refuses', () => {
  const cases: Array<[string, RestflowThrottleAsyncOptions]> = [
    ['none of the three', { imports: [AppConfigModule] }],
    ['two of them', { useFactory: () => ({}), useClass: ThrottleConfigFromClass }],
    ['all three', { useFactory: () => ({}), useClass: ThrottleConfigFromClass, useExisting: SharedThrottleConfig }],
  ];
  it.each(cases)('%s', (_, options) => {
    expect((): DynamicModule => RestflowThrottleModule.forRootAsync(options)).toThrow(
      'RestflowThrottleModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting.',
    );
  });
});
