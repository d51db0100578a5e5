/**
 * Separate key spaces (issue 24 item 9). DRF keys user ids and addresses in
 * one space: a user whose id is `127.0.0.1` shares that address's bucket,
 * and a user whose id is written as the hash of another ident shares that
 * ident's bucket. Here, on a ScopedRateThrottle (user id when signed in,
 * else the address), each gets a bucket of its own.
 */
import { jest } from '@jest/globals';
import { Controller, Get, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import {
  MemoryThrottleStore,
  RestflowThrottleModule,
  ScopedRateThrottle,
  Throttle,
  ThrottleScope,
  hashIdent,
  type ThrottleRequest,
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

@Controller('search')
class SearchController {
  @Get() @ThrottleScope('search') @Throttle([ScopedRateThrottle]) get() {
    return 'ok';
  }
}

/** The memory store, remembering every key it was asked about. */
function recordingStore(): MemoryThrottleStore & { keys: Set<string> } {
  const store = new MemoryThrottleStore();
  const keys = new Set<string>();
  const hit = store.hit.bind(store);
  jest.spyOn(store, 'hit').mockImplementation((key, ...rest) => (keys.add(key), hit(key, ...rest)));
  return Object.assign(store, { keys });
}

describe.each(PLATFORMS)('key spaces on %s', (platform) => {
  let t: TestApp;
  let store: ReturnType<typeof recordingStore>;
  beforeEach(async () => {
    store = recordingStore();
    t = await startApp(platform, {
      imports: [RestflowThrottleModule.forRoot({ rates: { search: '2/min' }, numProxies: 1, cache: store })],
      providers: [{ provide: APP_GUARD, useClass: TokenAuthGuard }],
      controllers: [SearchController],
    });
  });
  afterEach(() => t.close());

  const statuses = async (n: number, headers: Record<string, string> = {}): Promise<number[]> => {
    const result: number[] = [];
    for (let i = 0; i < n; i++) result.push((await t.request('/search', { headers })).status);
    return result;
  };
  const as = (id: string) => ({ authorization: `Token ${id}` });

  it('a user whose id is 127.0.0.1 and the anonymous client at 127.0.0.1 have a bucket each', async () => {
    expect(await statuses(3)).toEqual([200, 200, 429]);
    expect(await statuses(3, as('127.0.0.1'))).toEqual([200, 200, 429]);
    expect(store.keys).toEqual(new Set(['throttle_search_ip:127.0.0.1', 'throttle_search_user:127.0.0.1']));
  });

  it("a user whose id is the hashed form of another user's long id has a bucket of its own", async () => {
    const long = 'a'.repeat(65);
    expect(await statuses(3, as(long))).toEqual([200, 200, 429]);
    expect(await statuses(1, as(hashIdent(long)))).toEqual([200]);
  });

  it("a user whose id is the hashed form of a forged address does not share that client's bucket", async () => {
    const forged = 'f'.repeat(65);
    expect(await statuses(3, { 'x-forwarded-for': forged })).toEqual([200, 200, 429]);
    expect(await statuses(1, as(hashIdent(forged)))).toEqual([200]);
    expect(await statuses(1, as(`ip:${hashIdent(forged)}`))).toEqual([200]);
  });
});
