/**
 * Throttles run after authentication: with a global auth guard, and with a
 * controller-bound one (`@UseGuards(AuthGuard, ThrottleGuard)`).
 */
import { Controller, Get, Injectable, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  RESTFLOW_THROTTLE_CACHE,
  RestflowThrottleModule,
  Throttle,
  ThrottleGuard,
  UserRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import { PLATFORMS, startApp, type TestApp } from '../helpers/http-app';

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

@Controller('global')
class GloballyAuthenticated {
  @Get() @Throttle([UserRateThrottle]) get() { return 'ok'; }
}

@Controller('bound')
@UseGuards(TokenAuthGuard, ThrottleGuard)
@Throttle([UserRateThrottle])
class ControllerAuthenticated {
  @Get() get() { return 'ok'; }
  @Get('other') other() { return 'ok'; }
}

@Controller('naive')
@UseGuards(TokenAuthGuard)
@Throttle([UserRateThrottle])
class NaiveController {
  @Get() get() { return 'ok'; }
}

const token = (id: string) => ({ headers: { authorization: `Token ${id}` } });

describe.each(PLATFORMS)('throttles after authentication on %s', (platform) => {
  let t: TestApp;
  afterEach(() => t.close());

  it('a global auth guard: the user throttle keys on the user id', async () => {
    t = await startApp(platform, {
      providers: [{ provide: APP_GUARD, useClass: TokenAuthGuard }],
      imports: [RestflowThrottleModule.forRoot({ rates: { user: '2/min' } })],
      controllers: [GloballyAuthenticated],
    });
    expect((await t.request('/global', token('alice'))).status).toBe(200);
    expect((await t.request('/global', token('alice'))).status).toBe(200);
    expect((await t.request('/global', token('alice'))).status).toBe(429);
    // Same address, other user: its own bucket.
    expect((await t.request('/global', token('bob'))).status).toBe(200);
    const keys = await (t.app.get(RESTFLOW_THROTTLE_CACHE) as { store: { keys(): Promise<string[]> } }).store.keys();
    expect(keys.sort()).toEqual(['throttle_user_alice', 'throttle_user_bob']);
  });

  it('@UseGuards(AuthGuard, ThrottleGuard): counted once, after the controller auth guard', async () => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { user: '2/min' } })],
      controllers: [ControllerAuthenticated],
    });
    expect((await t.request('/bound', token('alice'))).status).toBe(200);
    expect((await t.request('/bound/other', token('alice'))).status).toBe(200);
    expect((await t.request('/bound', token('alice'))).status).toBe(429);
    expect((await t.request('/bound', token('bob'))).status).toBe(200);
    expect((await t.request('/bound')).status).toBe(200);
  });

  it('without binding ThrottleGuard, a controller auth guard runs after the global throttle (keyed by address)', async () => {
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { user: '2/min' } })],
      controllers: [NaiveController],
    });
    expect((await t.request('/naive', token('alice'))).status).toBe(200);
    expect((await t.request('/naive', token('bob'))).status).toBe(200);
    expect((await t.request('/naive', token('carol'))).status).toBe(429);
  });
});

