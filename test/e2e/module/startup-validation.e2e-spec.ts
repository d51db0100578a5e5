/** Misconfiguration fails app.init() with a message naming what to fix. */
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  AnonRateThrottle,
  ImproperlyConfiguredError,
  RestflowThrottleModule,
  ScopedRateThrottle,
  SimpleRateThrottle,
  Throttle,
  ThrottleScope,
  type RestflowThrottleOptions,
} from 'restflow-throttle';
import { CapturingLogger } from '../../helpers/http-app';

async function init(options: RestflowThrottleOptions, controllers: Function[]): Promise<void> {
  @Module({ imports: [RestflowThrottleModule.forRoot(options)], controllers: controllers as never[] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

@Controller('articles')
class ArticlesController {
  @Get() @Throttle([AnonRateThrottle]) list() {
    return [];
  }
}

@Controller('uploads')
class UploadsController {
  @Get() @Throttle([ScopedRateThrottle]) @ThrottleScope('uploads') upload() {
    return 'ok';
  }
}

class NoScopeThrottle extends SimpleRateThrottle {
  getCacheKey(): string {
    return 'k';
  }
}

@Controller('custom')
class CustomController {
  @Get() @Throttle([NoScopeThrottle]) get() {
    return 'ok';
  }
}

describe('startup validation', () => {
  it('a missing rate for a throttle scope names the scope, controller and handler', async () => {
    const failure = init({ rates: { user: '5/min' } }, [ArticlesController]);
    await expect(failure).rejects.toThrow(ImproperlyConfiguredError);
    await expect(init({ rates: {} }, [ArticlesController])).rejects.toThrow(
      "No default throttle rate set for 'anon' scope (on ArticlesController.list)",
    );
  });

  it('a missing rate for a @ThrottleScope scope used by ScopedRateThrottle', async () => {
    await expect(init({ rates: { anon: '1/s' } }, [UploadsController])).rejects.toThrow(
      "No default throttle rate set for 'uploads' scope (on UploadsController.upload)",
    );
  });

  it('a malformed rate names the rate and the scope', async () => {
    await expect(init({ rates: { uploads: '10/fortnight' } }, [UploadsController])).rejects.toThrow(
      /Invalid throttle rate '10\/fortnight' for scope 'uploads'/,
    );
  });

  it('a throttle with neither scope nor rate', async () => {
    await expect(init({}, [CustomController])).rejects.toThrow(
      "You must set either `.scope` or `.rate` for 'NoScopeThrottle' throttle (on CustomController.get)",
    );
  });

  it('null rates are allowed and mean unthrottled', async () => {
    await expect(
      init({ rates: { anon: null, uploads: null } }, [ArticlesController, UploadsController]),
    ).resolves.toBeUndefined();
  });

  it('a default throttle is checked on every route that uses it', async () => {
    @Controller('plain')
    class PlainController {
      @Get() get() {
        return 'ok';
      }
    }
    await expect(init({ defaultThrottles: [AnonRateThrottle], rates: {} }, [PlainController])).rejects.toThrow(
      "No default throttle rate set for 'anon' scope (on PlainController.get)",
    );
  });

  it('an unknown cache alias', async () => {
    class Isolated extends SimpleRateThrottle {
      override scope = 'isolated';
      override cache = 'throttling';
      getCacheKey(): string {
        return 'k';
      }
    }
    @Controller('iso')
    class IsoController {
      @Get() @Throttle([Isolated]) get() {
        return 'ok';
      }
    }
    await expect(init({ rates: { isolated: '1/s' } }, [IsoController])).rejects.toThrow(
      "Unknown throttle cache alias 'throttling'; the caches configured are: default. (on IsoController.get)",
    );
  });

  it('a class that is not a throttle', async () => {
    class NotAThrottle {}
    @Controller('bad')
    class BadController {
      @Get() @Throttle([NotAThrottle as never]) get() {
        return 'ok';
      }
    }
    await expect(init({}, [BadController])).rejects.toThrow(/'NotAThrottle' is not a throttle class/);
  });

  it('a throttle with constructor dependencies but no @Injectable() fails, naming the class', async () => {
    class Directory {}
    class NotInjectable extends SimpleRateThrottle {
      override rate = '1/s';
      constructor(readonly directory: Directory) {
        super();
      }
      getCacheKey(): string {
        return String(this.directory);
      }
    }
    @Controller('not-injectable')
    class NotInjectableController {
      @Get() @Throttle([NotInjectable]) get() {
        return 'ok';
      }
    }
    await expect(init({}, [NotInjectableController])).rejects.toThrow(
      /The throttle 'NotInjectable' has constructor parameters but no @Injectable\(\).*\(on NotInjectableController.get\)/,
    );
  });

  it('a throttle whose dependency Nest cannot resolve fails, naming the class and the dependency', async () => {
    @Injectable()
    class MissingService {}
    @Injectable()
    class NeedsService extends SimpleRateThrottle {
      override rate = '1/s';
      constructor(readonly service: MissingService) {
        super();
      }
      getCacheKey(): string {
        return 'k';
      }
    }
    @Controller('unresolved')
    class UnresolvedController {
      @Get() @Throttle([NeedsService]) get() {
        return 'ok';
      }
    }
    await expect(init({}, [UnresolvedController])).rejects.toThrow(
      /Nest cannot build the throttle 'NeedsService'.*MissingService.*\(on UnresolvedController.get\)/s,
    );
  });

  it('@Throttle([ScopedRateThrottle]) on a handler with no scope logs one warning naming it', async () => {
    @Controller('no-scope')
    class NoScopeController {
      @Get() @Throttle([ScopedRateThrottle]) get() {
        return 'ok';
      }
    }
    const logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [RestflowThrottleModule.forRoot({})],
      controllers: [NoScopeController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    await app.close();
    expect(logger.warnings.filter((w) => w.includes('NoScopeController.get'))).toEqual([
      expect.stringMatching(/NoScopeController.get uses ScopedRateThrottle but has no throttle scope/),
    ]);
  });

  it('throttle decorators on a method that is no handler of a known kind are refused, naming it', async () => {
    @Injectable()
    class ReportsService {
      @Throttle([AnonRateThrottle]) build() {
        return 'report';
      }
    }
    @Module({ imports: [RestflowThrottleModule.forRoot({ rates: { anon: '1/s' } })], providers: [ReportsService] })
    class AppModule {}
    await expect(Test.createTestingModule({ imports: [AppModule] }).compile()).rejects.toThrow(
      /ReportsService.build declares throttles but is not an HTTP route, a GraphQL resolver, a gateway handler or a microservice handler/,
    );
  });

  it.each([
    [{ rate: { anon: '1/s' } }, /unknown option 'rate'/],
    [{ numProxies: -1 }, /numProxies must be a whole number >= 0/],
    [{ numProxies: 1.5 }, /numProxies must be a whole number >= 0/],
    [{ onCacheError: 'ignore' }, /onCacheError must be 'allow', 'deny' or 'local'/],
    [{ cacheTimeoutMs: 0 }, /cacheTimeoutMs must be a whole number/],
    [{ rates: { anon: '5/y' } }, /Invalid throttle rate '5\/y' for scope 'anon'/],
    [{ cache: {} }, /cache must be a cache-manager cache/],
    [{ ipv6Subnet: 0 }, /ipv6Subnet must be a prefix length from 1 to 128/],
    [{ headers: 'x' }, /headers must be false, 'ietf' or 'legacy'/],
    [{ clock: 5 }, /clock must be a function/],
  ])('bad option %j', (options, message) => {
    expect(() => RestflowThrottleModule.forRoot(options as RestflowThrottleOptions)).toThrow(message);
  });
});
