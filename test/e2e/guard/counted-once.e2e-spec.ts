/**
 * A request is counted once however ThrottleGuard ends up bound: the habit
 * every @nestjs/throttler user brings ({ provide: APP_GUARD, useClass }),
 * useGlobalGuards, @UseGuards on the controller and the handler, and the
 * module imported twice (with a warning naming only the modules whose own
 * metadata imports it, not those Nest binds the global module to).
 */
import { Controller, type DynamicModule, forwardRef, Get, Module, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { AnonRateThrottle, RestflowThrottleModule, Throttle, ThrottleGuard } from 'restflow-throttle';
import { CapturingLogger, PLATFORMS, serve, startApp, type TestApp } from '../../helpers/http-app';
import { FastifyAdapter } from '@nestjs/platform-fastify';

@Controller('limited')
@UseGuards(ThrottleGuard)
class LimitedController {
  @Get() @UseGuards(ThrottleGuard) @Throttle([AnonRateThrottle]) get() {
    return 'ok';
  }
}

const throttling = () => RestflowThrottleModule.forRoot({ rates: { anon: '4/min' } });

async function statuses(t: TestApp, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await t.request('/limited')).status);
  return out;
}

describe.each(PLATFORMS)('counted once on %s', (platform) => {
  let t: TestApp;
  afterEach(() => t?.close());

  it('APP_GUARD useClass ThrottleGuard, useGlobalGuards and @UseGuards on class and handler: a limit of 4 admits 4', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [throttling()],
      providers: [{ provide: APP_GUARD, useClass: ThrottleGuard }],
      controllers: [LimitedController],
    }).compile();
    const app =
      platform === 'fastify'
        ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
        : moduleRef.createNestApplication({ logger: false });
    app.useGlobalGuards(app.get(ThrottleGuard));
    t = await serve(app);
    expect(await statuses(t, 6)).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('a second app built from the same controller classes counts on its own', async () => {
    t = await startApp(platform, { imports: [throttling()], controllers: [LimitedController] });
    expect(await statuses(t, 5)).toEqual([200, 200, 200, 200, 429]);
    await t.close();
    t = await startApp(platform, { imports: [throttling()], controllers: [LimitedController] });
    expect(await statuses(t, 5)).toEqual([200, 200, 200, 200, 429]);
  });
});

/** The modules the warning names, in order of name. */
function named(warning: string): string[] {
  return (/\(by ([^)]*)\)/.exec(warning)?.[1] ?? '').split(', ').sort();
}

/** Modules of the app that do not import RestflowThrottleModule: the module is global, so Nest binds it to them. */
@Module({})
class BillingModuleThatImportsNothing {}
@Module({ imports: [BillingModuleThatImportsNothing] })
class UsersModuleThatImportsBilling {}

describe.each(PLATFORMS)('the module imported twice on %s', (platform) => {
  it('counts each request once and warns, naming the modules that import it', async () => {
    @Module({ imports: [RestflowThrottleModule.forRoot({ rates: { anon: '4/min' } })] })
    class FeatureModule {}
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      {
        imports: [
          RestflowThrottleModule.forRoot({ rates: { anon: '4/min' } }),
          FeatureModule,
          BillingModuleThatImportsNothing,
          UsersModuleThatImportsBilling,
        ],
        controllers: [LimitedController],
      },
      logger,
    );
    try {
      expect(await statuses(t, 6)).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await t.close();
    }
    const warnings = logger.warnings.filter((w) => w.includes('imported 2 times'));
    expect(warnings).toHaveLength(1);
    // Only the modules whose own metadata imports it: not the module's own copies, nor Nest's core module, nor the
    // modules it is bound to only because it is global.
    expect(named(warnings[0])).toEqual(['FeatureModule', 'RootTestModule']);
    expect(warnings[0]).toMatch(/Each request is still counted once/);
  });

  it('names a dynamic module importing it by forRootAsync, and a module importing it through forwardRef', async () => {
    const featureThrottling = RestflowThrottleModule.forRoot({ rates: { anon: '4/min' } });
    @Module({ imports: [forwardRef(() => featureThrottling)] })
    class FeatureModule {}
    @Module({})
    class ReportsModule {
      static register(): DynamicModule {
        return {
          module: ReportsModule,
          imports: [RestflowThrottleModule.forRootAsync({ useFactory: () => ({ rates: { anon: '4/min' } }) })],
        };
      }
    }
    const logger = new CapturingLogger();
    const t = await startApp(
      platform,
      {
        imports: [
          RestflowThrottleModule.forRoot({ rates: { anon: '4/min' } }),
          FeatureModule,
          ReportsModule.register(),
          UsersModuleThatImportsBilling,
        ],
        controllers: [LimitedController],
      },
      logger,
    );
    try {
      expect(await statuses(t, 6)).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      await t.close();
    }
    const warnings = logger.warnings.filter((w) => w.includes('imported 3 times'));
    expect(warnings).toHaveLength(1);
    expect(named(warnings[0])).toEqual(['FeatureModule', 'ReportsModule', 'RootTestModule']);
  });
});
