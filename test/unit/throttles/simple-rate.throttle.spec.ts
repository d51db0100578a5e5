/** DRF's SimpleRateThrottleTests and AnonRateThrottleTests, on throttles used outside a Nest app. */
import type { ExecutionContext } from '@nestjs/common';
import { AnonRateThrottle, SimpleRateThrottle, UserRateThrottle, type ThrottleRequest } from 'restflow-throttle';

const context = {} as ExecutionContext;
const anonymous: ThrottleRequest = { headers: {}, ip: '1.2.3.4' };

class KeyThrottle extends SimpleRateThrottle {
  override rate: string | null = '2/min';
  now = 100;
  key: string | null = 'throttle_test_k';
  override timer = () => this.now;
  getCacheKey(): string | null {
    return this.key;
  }
}

describe('SimpleRateThrottle on its own', () => {
  it('parseRate(null) is [null, null]', () => {
    expect(new KeyThrottle().parseRate(null)).toEqual([null, null]);
  });

  it('allows without asking for a key when the rate is null', () => {
    class Unthrottled extends KeyThrottle {
      override rate: string | null = null;
      override getRate(): string | null {
        return null;
      }
      override getCacheKey(): string {
        throw new Error('the key must not be asked for');
      }
    }
    expect(new Unthrottled().allowRequest(anonymous, context)).toBe(true);
  });

  it('a null rate without a scope is the DRF configuration error', () => {
    const throttle = new KeyThrottle();
    throttle.rate = null;
    expect(() => throttle.allowRequest(anonymous, context)).toThrow(
      "You must set either `.scope` or `.rate` for 'KeyThrottle' throttle",
    );
  });

  it('allows when the key is null', () => {
    const throttle = new KeyThrottle();
    throttle.key = null;
    for (let i = 0; i < 5; i++) expect(throttle.allowRequest(anonymous, context)).toBe(true);
  });

  it('counts in a process-wide memory store, and wait() answers per request', () => {
    const throttle = new KeyThrottle();
    throttle.key = `throttle_test_${Math.random()}`;
    const requests: ThrottleRequest[] = [0, 1, 2].map(() => ({ headers: {} }));
    expect(throttle.allowRequest(requests[0], context)).toBe(true);
    throttle.now = 130;
    expect(throttle.allowRequest(requests[1], context)).toBe(true);
    throttle.now = 150;
    expect(throttle.allowRequest(requests[2], context)).toBe(false);
    expect(throttle.wait(requests[2])).toBe(10); // 60 - (150 - 100)
    expect(throttle.wait(requests[1])).toBeNull(); // allowed: no estimate kept
  });
});

describe("decide(), the guard's way in", () => {
  const admitted = { allowed: true, now: 100, count: 1, oldest: 100 };

  it('answers at once (no promise) while the rate, the key and the store do: the whole decision, admitted or denied', () => {
    const throttle = new KeyThrottle();
    throttle.key = `throttle_test_${Math.random()}`;
    expect(throttle.decide(anonymous, context)).toMatchObject({
      allowed: true,
      count: 1,
      numRequests: 2,
      duration: 60,
    });
    expect(throttle.decide(anonymous, context)).toMatchObject({ allowed: true, count: 2 });
    const denied = throttle.decide(anonymous, context);
    expect(denied).not.toBeInstanceOf(Promise);
    expect(denied).toMatchObject({ allowed: false, count: 2, numRequests: 2, duration: 60 });
  });

  it('an async store: one promise of the whole decision; a rejection passes through as it is', async () => {
    const throttle = new KeyThrottle();
    const failure = new Error('down');
    let reply: Promise<typeof admitted> = Promise.resolve(admitted);
    throttle.cache = { ownClock: false, hit: () => reply };
    await expect(throttle.decide(anonymous, context)).resolves.toEqual({
      ...admitted,
      numRequests: 2,
      duration: 60,
      scope: undefined,
      key: 'throttle_test_k',
    });
    reply = Promise.reject(failure);
    await expect(throttle.decide(anonymous, context)).rejects.toBe(failure);
  });

  it('an async key: a promise of the decision, or of null for a skipped request', async () => {
    class AsyncKey extends SimpleRateThrottle {
      override rate = '2/min';
      key: string | null = `throttle_test_${Math.random()}`;
      getCacheKey(): Promise<string | null> {
        return Promise.resolve(this.key);
      }
    }
    const throttle = new AsyncKey();
    await expect(throttle.decide(anonymous, context)).resolves.toMatchObject({ allowed: true, count: 1 });
    throttle.key = null;
    await expect(throttle.decide(anonymous, context)).resolves.toBeNull();
  });
});

describe('AnonRateThrottle and UserRateThrottle keys', () => {
  class Anon extends AnonRateThrottle {
    override rate = '1/min';
  }
  class User extends UserRateThrottle {
    override rate = '1/min';
  }

  it('anon: the address for anonymous requests, null (skipped) for authenticated ones', () => {
    const throttle = new Anon();
    expect(throttle.getCacheKey(anonymous)).toBe('throttle_anon_ip:1.2.3.4');
    expect(throttle.getCacheKey({ ...anonymous, user: { id: 7 } })).toBeNull();
    // An explicitly unauthenticated user object is anonymous.
    expect(throttle.getCacheKey({ ...anonymous, user: { id: 7, isAuthenticated: false } })).toBe(
      'throttle_anon_ip:1.2.3.4',
    );
  });

  it('user: the user id (id, pk, sub, userId), else the address, each typed (user:, ip:)', () => {
    const throttle = new User();
    expect(throttle.getCacheKey({ ...anonymous, user: { id: 7 } })).toBe('throttle_user_user:7');
    expect(throttle.getCacheKey({ ...anonymous, user: { pk: 8 } })).toBe('throttle_user_user:8');
    expect(throttle.getCacheKey({ ...anonymous, user: { sub: 'auth0|9' } })).toBe('throttle_user_user:auth0|9');
    expect(throttle.getCacheKey({ ...anonymous, user: { userId: 10 } })).toBe('throttle_user_user:10');
    expect(throttle.getCacheKey(anonymous)).toBe('throttle_user_ip:1.2.3.4');
    expect(throttle.getCacheKey({ ...anonymous, user: null })).toBe('throttle_user_ip:1.2.3.4');
  });

  it('a custom cacheFormat is honoured', () => {
    class Custom extends AnonRateThrottle {
      override cacheFormat = 'rl:{scope}:{ident}';
    }
    expect(new Custom().getCacheKey(anonymous)).toBe('rl:anon:ip:1.2.3.4');
  });

  it('formatKey() follows a cacheFormat or scope changed after the first key', () => {
    const throttle = new Anon();
    expect(throttle.formatKey('a')).toBe('throttle_anon_a');
    throttle.cacheFormat = '{ident}@{scope}';
    expect(throttle.formatKey('a')).toBe('a@anon');
    expect(throttle.formatKey('a', 'other')).toBe('a@other');
    throttle.scope = 'changed';
    expect(throttle.formatKey(7)).toBe('7@changed');
  });

  it('formatKey() fills every {ident}, or none, and leaves {scope} written in an ident as it is', () => {
    const throttle = new Anon();
    throttle.cacheFormat = '{scope}:{ident}:{ident}';
    expect(throttle.formatKey('x')).toBe('anon:x:x');
    throttle.cacheFormat = 'fixed_{scope}';
    expect(throttle.formatKey('x')).toBe('fixed_anon');
    throttle.cacheFormat = 'throttle_{scope}_{ident}';
    expect(throttle.formatKey('{scope}')).toBe('throttle_anon_{scope}');
  });

  it('a key with unprintable or too long fixed text is still hashed when counted, however safe its ident', () => {
    class Spaced extends KeyThrottle {
      override cacheFormat = 'a key {ident}';
    }
    const keys: string[] = [];
    const throttle = new Spaced();
    throttle.cache = {
      ownClock: false,
      hit: (key: string) => (keys.push(key), { allowed: true, now: 0, count: 1, oldest: 0 }),
    };
    throttle.key = throttle.formatKey('1.2.3.4');
    throttle.allowRequest(anonymous, context);
    throttle.scope = 'x'.repeat(300);
    throttle.cacheFormat = '{scope}{ident}';
    throttle.key = throttle.formatKey('1.2.3.4');
    throttle.allowRequest(anonymous, context);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(/^throttle_h:[\w-]{43}$/);
  });
});
