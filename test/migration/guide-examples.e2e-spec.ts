/**
 * The migration guide's own code, run as the guide shows it (docs/migrating-from-nestjs-throttler.md
 * excerpts test/migration/examples/, and test/docs/readme.spec.ts checks that the excerpts match), on
 * Express and Fastify: the "before" app with @nestjs/throttler beside the "after" app, the named
 * throttlers, the peer's 429, counting per route.
 */
import { type CanActivate, Controller, type ExecutionContext, Get, Injectable } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RestflowThrottleModule } from 'restflow-throttle';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from '../helpers/http-app';
import { repoRoot } from '../helpers/processes/app-process';
import { codeBlocks } from '../helpers/readme-blocks';
import { startPeerApp } from './peer-process';
import { PLATFORMS, startPorted, statuses } from './helpers';
import { AppModule as AfterModule } from './examples/after';
import { LongRateThrottle, AppModule as NamedModule, ShortRateThrottle } from './examples/named-throttlers';
import { AppModule as PerRouteModule } from './examples/per-route';
import { AppModule as CountRefusedModule } from './examples/count-refused';
import { AppModule as PeerExceptionModule } from './examples/peer-exception';

/** Stands in for the app's authentication: `x-user: alice` signs in as user `alice`. */
@Injectable()
class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: object }>();
    if (request.headers['x-user'] !== undefined) request.user = { id: request.headers['x-user'] };
    return true;
  }
}

@Controller('items')
class ItemsController {
  @Get()
  list() {
    return [];
  }

  @Get('other')
  other() {
    return [];
  }
}

const GUIDE = 'docs/migrating-from-nestjs-throttler.md';

/** The guide's "before" block: the app written for @nestjs/throttler. */
function beforeBlock(root: string): string {
  const blocks = codeBlocks(readFileSync(join(root, GUIDE), 'utf8'), GUIDE);
  const before = blocks.filter((block) => block.lang === 'ts' && block.code.includes("from '@nestjs/throttler'"));
  expect(before).toHaveLength(1);
  return before[0].code;
}

/** What a client sees of the guide's app: logins as one client, then its health check. */
async function loginAndHealth(url: string) {
  const login = [];
  for (let i = 0; i < 4; i++) {
    const response = await fetch(`${url}/auth/login`, { method: 'POST' });
    login.push([response.status, response.headers.get('retry-after')]);
  }
  const health = [];
  for (let i = 0; i < 5; i++) health.push((await fetch(`${url}/auth/health`)).status);
  return { login, health };
}

describe.each(PLATFORMS)('the migration guide on %s', (platform) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  describe('before and after', () => {
    it('the "before" app, run with @nestjs/throttler, and the "after" app answer alike', async () => {
      const root = repoRoot();
      const peer = await startPeerApp(root, beforeBlock(root), platform);
      try {
        t = await startApp(platform, { imports: [AfterModule] });
        const expected = {
          login: [...Array(3).fill([201, null]), [429, '60']],
          health: Array(5).fill(200),
        };
        expect(await loginAndHealth(peer.url)).toEqual(expected);
        expect(await loginAndHealth(t.url)).toEqual(expected);
      } finally {
        peer.stop();
      }
    });

    it('login: 3 a minute per user (UserThrottlerGuard.getTracker: users by id, others by address)', async () => {
      t = await startApp(platform, {
        imports: [AfterModule],
        providers: [{ provide: APP_GUARD, useClass: HeaderAuthGuard }],
      });
      const login = (user?: string) => ({
        method: 'POST',
        headers: (user === undefined ? {} : { 'x-user': user }) as Record<string, string>,
      });
      expect(await statuses(t, '/auth/login', 4, login('alice'))).toEqual([201, 201, 201, 429]);
      expect(await statuses(t, '/auth/login', 4, login('bob'))).toEqual([201, 201, 201, 429]);
      expect(await statuses(t, '/auth/login', 4, login())).toEqual([201, 201, 201, 429]);
      const refused = await t.request('/auth/login', login('alice'));
      expect(refused.headers.get('retry-after')).toBe('60');
    });

    it('health: @SkipThrottle(), never throttled', async () => {
      t = await startApp(platform, { imports: [AfterModule] });
      expect(await statuses(t, '/auth/health', 120)).toEqual(Array(120).fill(200));
    });

    it('every other route: the module-wide 100 a minute', async () => {
      t = await startApp(platform, { imports: [AfterModule], controllers: [ItemsController] });
      expect(await statuses(t, '/items', 101)).toEqual([...Array(100).fill(200), 429]);
      // One bucket per scope and client, as DRF: the other route shares it.
      expect(await statuses(t, '/items/other', 1)).toEqual([429]);
    });
  });

  describe('named throttlers', () => {
    it('short: 3 a second', async () => {
      t = await startApp(platform, { imports: [NamedModule], controllers: [ItemsController] });
      // At once, on the app's real clock: the module's own, as the guide's module has no `clock`.
      const burst = await Promise.all([1, 2, 3, 4].map(() => t!.request('/items')));
      expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
      expect(burst.find((r) => r.status === 429)?.headers.get('retry-after')).toBe('1');
    });

    it('long: 100 a minute, the longest wait wins', async () => {
      const app = await startPorted(platform, (clock) => ({
        imports: [
          RestflowThrottleModule.forRoot({
            defaultThrottles: [ShortRateThrottle, LongRateThrottle],
            rates: { short: '3/s', long: '100/min' },
            clock: clock.read,
          }),
        ],
        controllers: [ItemsController],
      }));
      try {
        for (let second = 0; second < 34; second++) {
          for (let i = 0; i < 3; i++) expect((await app.send('/items')).status).toBe(second * 3 + i < 100 ? 200 : 429);
          app.clock.advance(1);
        }
        const refused = await app.send('/items');
        expect([refused.status, refused.headers['retry-after']]).toEqual([429, '26']);
      } finally {
        await app.close();
      }
    });
  });

  describe('what a refused request costs', () => {
    it('countRefused: false: the burst refused by short is not counted by long', async () => {
      t = await startApp(platform, { imports: [CountRefusedModule], controllers: [ItemsController] });
      // At once, on the app's real clock, as the guide's module has no `clock`.
      const burst = await Promise.all([1, 2, 3, 4].map(() => t!.request('/items')));
      expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 200, 429]);
    });

    it.each([
      [false, 100],
      [true, 75],
    ])('countRefused: %p: 4 requests a second for 34 s admit %p', async (countRefused, admitted) => {
      const app = await startPorted(platform, (clock) => ({
        imports: [
          RestflowThrottleModule.forRoot({
            defaultThrottles: [ShortRateThrottle, LongRateThrottle],
            rates: { short: '3/s', long: '100/min' },
            countRefused,
            clock: clock.read,
          }),
        ],
        controllers: [ItemsController],
      }));
      try {
        let ok = 0;
        for (let second = 0; second < 34; second++) {
          for (let i = 0; i < 4; i++) if ((await app.send('/items')).status === 200) ok++;
          app.clock.advance(1);
        }
        // false: 3 a second until long's 100; DRF: long counts the 4th of each second too, and is full at 25 s.
        expect(ok).toBe(admitted);
      } finally {
        await app.close();
      }
    });
  });

  describe('the 429', () => {
    it("throttledException: peerException, the peer's body with Retry-After", async () => {
      t = await startApp(platform, { imports: [PeerExceptionModule], controllers: [ItemsController] });
      const startedAt = performance.now();
      expect(await statuses(t, '/items', 100)).toEqual(Array(100).fill(200));
      const refused = await t.request('/items');
      const elapsed = (performance.now() - startedAt) / 1000;
      expect([refused.status, refused.body]).toEqual([
        429,
        { statusCode: 429, message: 'ThrottlerException: Too Many Requests' },
      ]);
      // The real clock: 60 s from the first request, rounded up, less what the 101 requests took (a loaded
      // machine takes over a second for them, and the wait is then 59).
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(60 - elapsed));
    });
  });

  describe('counting per route', () => {
    it('100 a minute on each route and client', async () => {
      t = await startApp(platform, { imports: [PerRouteModule], controllers: [ItemsController] });
      expect(await statuses(t, '/items', 101)).toEqual([...Array(100).fill(200), 429]);
      expect(await statuses(t, '/items/other', 1)).toEqual([200]);
    });
  });
});
