/**
 * DRF runs check_throttles after authentication, always. Here the throttles
 * run after every other guard of the route, whatever the wiring: a global
 * auth guard in the root module or in a feature module imported before or
 * after ours, an auth guard bound on the controller or on the handler, and
 * routes with no auth at all. Nobody writes `@UseGuards(Auth, ThrottleGuard)`.
 */
import {
  Controller,
  Get,
  Injectable,
  Module,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  MemoryThrottleStore,
  RestflowThrottleModule,
  Throttle,
  UserRateThrottle,
  type ThrottleRequest,
  type ThrottleStore,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';

/** `Authorization: Token <user id>`. */
@Injectable()
class TokenAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ThrottleRequest>();
    const auth = request.headers.authorization;
    if (typeof auth === 'string' && auth.startsWith('Token ')) request.user = { id: auth.slice(6) };
    return true;
  }
}

@Module({ providers: [{ provide: APP_GUARD, useClass: TokenAuthGuard }] })
class AuthModule {}

@Controller('plain')
class PlainController {
  @Get() get() {
    return 'ok';
  }
}

@Controller('bound')
@UseGuards(TokenAuthGuard)
class ControllerBound {
  @Get() get() {
    return 'ok';
  }
}

@Controller('handler')
class HandlerBound {
  @Get() @UseGuards(TokenAuthGuard) get() {
    return 'ok';
  }
  @Get('open') open() {
    return 'ok';
  }
}

/** A store that remembers every key it was asked about. */
function recordingStore(): ThrottleStore & { keys: Set<string> } {
  const memory = new MemoryThrottleStore();
  const keys = new Set<string>();
  return { ownClock: false, keys, hit: (key, ...rest) => (keys.add(key), memory.hit(key, ...rest)) };
}

const token = (id: string) => ({ headers: { authorization: `Token ${id}` } });
const throttling = (cache: ThrottleStore) =>
  RestflowThrottleModule.forRoot({ defaultThrottles: [UserRateThrottle], rates: { user: '2/min' }, cache });

describe.each(PLATFORMS)('throttles run after authentication on %s', (platform) => {
  let t: TestApp;
  afterEach(() => t.close());

  /** Alice twice, then 429; Bob from the same address has a bucket of his own; the keys are user ids. */
  async function expectUserBuckets(path: string, store: { keys: Set<string> }): Promise<void> {
    expect((await t.request(path, token('alice'))).status).toBe(200);
    expect((await t.request(path, token('alice'))).status).toBe(200);
    expect((await t.request(path, token('alice'))).status).toBe(429);
    expect((await t.request(path, token('bob'))).status).toBe(200);
    expect([...store.keys].sort()).toEqual(['throttle_user_user:alice', 'throttle_user_user:bob']);
  }

  it('a global auth guard in the root module', async () => {
    const store = recordingStore();
    t = await startApp(platform, {
      imports: [throttling(store)],
      providers: [{ provide: APP_GUARD, useClass: TokenAuthGuard }],
      controllers: [PlainController],
    });
    await expectUserBuckets('/plain', store);
  });

  it('a global auth guard in a feature module imported after the throttle module', async () => {
    const store = recordingStore();
    t = await startApp(platform, { imports: [throttling(store), AuthModule], controllers: [PlainController] });
    await expectUserBuckets('/plain', store);
  });

  it('a global auth guard in a feature module imported before the throttle module', async () => {
    const store = recordingStore();
    t = await startApp(platform, { imports: [AuthModule, throttling(store)], controllers: [PlainController] });
    await expectUserBuckets('/plain', store);
  });

  it('an auth guard bound with @UseGuards on the controller', async () => {
    const store = recordingStore();
    t = await startApp(platform, { imports: [throttling(store)], controllers: [ControllerBound] });
    await expectUserBuckets('/bound', store);
  });

  it('an auth guard bound with @UseGuards on the handler; the route next to it has no auth', async () => {
    const store = recordingStore();
    t = await startApp(platform, { imports: [throttling(store)], controllers: [HandlerBound] });
    await expectUserBuckets('/handler', store);
    // No auth guard on this route: the token is never read, so every caller is the address.
    expect((await t.request('/handler/open', token('carol'))).status).toBe(200);
    expect((await t.request('/handler/open', token('dave'))).status).toBe(200);
    expect((await t.request('/handler/open', token('erin'))).status).toBe(429);
    expect(
      [...store.keys].filter(
        (k) => !k.startsWith('throttle_user_user:alice') && !k.startsWith('throttle_user_user:bob'),
      ),
    ).toEqual(['throttle_user_ip:127.0.0.1']);
  });

  it('a route with no auth at all is keyed on the address', async () => {
    const store = recordingStore();
    t = await startApp(platform, { imports: [throttling(store)], controllers: [PlainController] });
    expect((await t.request('/plain', token('alice'))).status).toBe(200);
    expect((await t.request('/plain', token('bob'))).status).toBe(200);
    expect((await t.request('/plain')).status).toBe(429);
    expect([...store.keys]).toEqual(['throttle_user_ip:127.0.0.1']);
  });

  it('a guard that refuses the request (401/403) leaves no count, as in DRF', async () => {
    @Injectable()
    class Refuse implements CanActivate {
      canActivate(context: ExecutionContext): boolean {
        return context.switchToHttp().getRequest<ThrottleRequest>().headers.authorization !== undefined;
      }
    }
    @Controller('guarded')
    @UseGuards(Refuse)
    class Guarded {
      @Get() @Throttle([UserRateThrottle]) get() {
        return 'ok';
      }
    }
    const store = recordingStore();
    t = await startApp(platform, { imports: [throttling(store)], controllers: [Guarded] });
    for (let i = 0; i < 5; i++) expect((await t.request('/guarded')).status).toBe(403);
    expect(store.keys.size).toBe(0);
  });
});
