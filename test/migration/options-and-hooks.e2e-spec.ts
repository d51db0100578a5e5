/**
 * The rows of the migration guide's table that @nestjs/throttler's own tests do not exercise: its guard
 * bound as `APP_GUARD`, `forRootAsync`, `storage`, `ThrottlerException`, the `ThrottlerGuard` hooks
 * (`getTracker`, `shouldSkip`, `handleRequest`), `@SkipThrottle({ default: false })` under a skipped
 * controller, and the guards it needs outside HTTP (`GqlThrottlerGuard`, a WebSocket subclass), each
 * written here as the guide says, on Express and Fastify.
 */
import { Controller, type ExecutionContext, Get, Injectable, Module, Post, type ModuleMetadata } from '@nestjs/common';
import {
  BaseThrottle,
  type HitResult,
  MemoryThrottleStore,
  RestflowThrottleModule,
  SkipThrottle,
  Throttle,
  ThrottledException,
  type ThrottleRequest,
  ThrottleGuard,
  type ThrottleStore,
  UserRateThrottle,
} from 'restflow-throttle';
import { APP_GUARD } from '@nestjs/core';
import { startApp, type TestApp } from '../helpers/http-app';
import { gql, graphqlApp } from '../helpers/contexts/graphql-app';
import { startGatewayApp, MessagesGateway } from '../helpers/contexts/gateway-app';
import { connect } from '../helpers/contexts/ws-clients';
import { PLATFORMS, type Platform, startPorted, statuses } from './helpers';

@Controller('items')
class ItemsController {
  @Get()
  list() {
    return [];
  }
}

/** Stands in for @nestjs/config's ConfigService. */
@Injectable()
class ConfigService {
  get(key: string): string | undefined {
    return { USER_RATE: '2/min' }[key];
  }
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

/** `storage`: a store of the app's own, here the memory store with every hit recorded. */
class RecordingStore implements ThrottleStore {
  readonly ownClock = false;
  readonly keys: string[] = [];
  private readonly memory = new MemoryThrottleStore();

  hit(key: string, limit: number, durationSec: number, now: number | undefined): HitResult {
    this.keys.push(key);
    return this.memory.hit(key, limit, durationSec, now);
  }
}

/** `getTracker(req)` returning an API key: `getIdent()`, the client as the throttles count it. */
class ApiKeyThrottle extends UserRateThrottle {
  override getIdent(request: ThrottleRequest): string {
    const key = request.headers['x-api-key'];
    return typeof key === 'string' ? key : super.getIdent(request);
  }
}

/** `handleRequest()` with a decision of the app's own: a throttle with `allowRequest()` and `wait()`. */
@Injectable()
class MaintenanceWindow {
  active = false;
}
@Injectable()
class MaintenanceThrottle extends BaseThrottle {
  constructor(private readonly maintenance: MaintenanceWindow) {
    super();
  }

  allowRequest(): boolean {
    return !this.maintenance.active;
  }

  override wait(): number {
    return 60;
  }
}

@Controller('hooks')
class LoginController {
  @Post('login')
  login() {
    // `throw new ThrottlerException()` in the app's code.
    throw new ThrottledException(30, 'Too many login attempts.');
  }
}

@Controller('hooks')
class HooksController {
  @Get('maintenance')
  @Throttle([MaintenanceThrottle])
  maintenance() {
    return 'ok';
  }
}

/** `@SkipThrottle()` on the class, `@SkipThrottle({ default: false })` on one handler. */
@Controller('mostly-skipped')
@SkipThrottle()
class MostlySkippedController {
  @Get()
  skipped() {
    return 'skipped';
  }

  @Get('throttled')
  @Throttle([UserRateThrottle])
  throttled() {
    return 'throttled';
  }
}

function start(platform: Platform, metadata: ModuleMetadata): Promise<TestApp> {
  return startApp(platform, metadata);
}

describe.each(PLATFORMS)('@nestjs/throttler options and hooks, migrated, on %s', (platform) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('{ provide: APP_GUARD, useClass: ThrottlerGuard } kept as ThrottleGuard: harmless, each request counted once', async () => {
    t = await start(platform, {
      imports: [RestflowThrottleModule.forRoot({ defaultThrottles: [UserRateThrottle], rates: { user: '2/min' } })],
      controllers: [ItemsController],
      providers: [{ provide: APP_GUARD, useClass: ThrottleGuard }],
    });
    expect(await statuses(t, '/items', 3)).toEqual([200, 200, 429]);
  });

  it('ThrottlerModule.forRootAsync({ imports, inject, useFactory }): RestflowThrottleModule.forRootAsync', async () => {
    t = await start(platform, {
      imports: [
        RestflowThrottleModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            defaultThrottles: [UserRateThrottle],
            rates: { user: config.get('USER_RATE') ?? '1000/hour' },
          }),
        }),
      ],
      controllers: [ItemsController],
    });
    expect(await statuses(t, '/items', 3)).toEqual([200, 200, 429]);
  });

  it('storage: a ThrottlerStorage of your own is a ThrottleStore given as `cache`', async () => {
    const store = new RecordingStore();
    t = await start(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [UserRateThrottle],
          rates: { user: '2/min' },
          cache: store,
        }),
      ],
      controllers: [ItemsController],
    });
    expect(await statuses(t, '/items', 3)).toEqual([200, 200, 429]);
    expect(store.keys).toEqual(Array(3).fill('throttle_user_ip:127.0.0.1'));
  });

  it('throw new ThrottlerException(): ThrottledException, a 429 with Retry-After', async () => {
    t = await start(platform, { imports: [RestflowThrottleModule.forRoot({})], controllers: [LoginController] });
    const response = await t.request('/hooks/login', { method: 'POST' });
    expect([response.status, response.headers.get('retry-after'), response.body]).toEqual([
      429,
      '30',
      { detail: 'Too many login attempts. Expected available in 30 seconds.' },
    ]);
  });

  it('ThrottlerGuard.getTracker(): getIdent() in a throttle class', async () => {
    t = await start(platform, {
      imports: [RestflowThrottleModule.forRoot({ defaultThrottles: [ApiKeyThrottle], rates: { user: '2/min' } })],
      controllers: [ItemsController],
    });
    const withKey = (key: string) => ({ headers: { 'x-api-key': key } });
    expect(await statuses(t, '/items', 3, withKey('partner-1'))).toEqual([200, 200, 429]);
    expect(await statuses(t, '/items', 2, withKey('partner-2'))).toEqual([200, 200]);
  });

  it('ThrottlerGuard.shouldSkip(context), async: the module option skipIf(context)', async () => {
    t = await start(platform, {
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [UserRateThrottle],
          rates: { user: '2/min' },
          skipIf: async (context: ExecutionContext) =>
            context.switchToHttp().getRequest<ThrottleRequest>().headers['x-internal'] === 'yes',
        }),
      ],
      controllers: [ItemsController],
    });
    expect(await statuses(t, '/items', 5, { headers: { 'x-internal': 'yes' } })).toEqual(Array(5).fill(200));
    // Skipped requests were not counted.
    expect(await statuses(t, '/items', 3)).toEqual([200, 200, 429]);
  });

  it("ThrottlerGuard.handleRequest() with a decision of the app's own: a BaseThrottle", async () => {
    t = await start(platform, {
      imports: [RestflowThrottleModule.forRoot({})],
      controllers: [HooksController],
      providers: [MaintenanceWindow],
    });
    expect(await statuses(t, '/hooks/maintenance', 1)).toEqual([200]);
    t.app.get(MaintenanceWindow).active = true;
    const refused = await t.request('/hooks/maintenance');
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '60']);
  });

  it('@SkipThrottle({ default: false }) under a skipped controller: @Throttle([...]) on the handler', async () => {
    t = await start(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { user: '2/min' } })],
      controllers: [MostlySkippedController],
    });
    expect(await statuses(t, '/mostly-skipped', 4)).toEqual([200, 200, 200, 200]);
    expect(await statuses(t, '/mostly-skipped/throttled', 3)).toEqual([200, 200, 429]);
  });

  it('GqlThrottlerGuard: none, the same decorators throttle resolvers', async () => {
    t = await startApp(platform, graphqlApp(platform));
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await gql(t.url, '{ article { id } }'));
    expect(answers.map((answer) => answer.errors.map((error) => error.extensions?.code))).toEqual([
      [],
      [],
      [],
      ['THROTTLED'],
    ]);
    expect(answers[3].retryAfter).toBe('60');
  });

  it('a ThrottlerGuard subclass for WebSockets: none, the same decorators throttle gateways', async () => {
    t = await startGatewayApp(platform, 'ws', {}, false, MessagesGateway);
    const client = await connect('ws', t.url);
    try {
      const answers = [await client.send('chat', 'a'), await client.send('chat', 'b'), await client.send('chat', 'c')];
      expect(answers.map((answer) => answer.event)).toEqual(['chat', 'chat', 'exception']);
      expect(answers[2].data).toMatchObject({ code: 'THROTTLED', retryAfter: 60 });
    } finally {
      client.close();
    }
  });

  it('@Throttle({ default: { limit, ttl } }) and seconds(): a rate string, exact to the second', async () => {
    const app = await startPorted(platform, (clock) => ({
      imports: [
        RestflowThrottleModule.forRoot({
          defaultThrottles: [UserRateThrottle],
          rates: { user: '2/10s' },
          clock: clock.read,
        }),
      ],
      controllers: [ItemsController],
    }));
    try {
      expect([(await app.send('/items')).status, (await app.send('/items')).status]).toEqual([200, 200]);
      expect(await app.send('/items')).toMatchObject({ status: 429, headers: { 'retry-after': '10' } });
      app.clock.advance(9);
      expect((await app.send('/items')).status).toBe(429);
      app.clock.advance(1);
      expect((await app.send('/items')).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
