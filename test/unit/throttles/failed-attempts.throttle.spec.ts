/**
 * FailedAttemptsThrottle on its own: its keys (account + address, unambiguous
 * whatever the account holds), the account's normalisation, the default
 * outcomes, and a response end that settles the attempt without ever throwing
 * (a store that fails is logged, the attempt stays counted).
 */
import { jest } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import {
  FailedAttemptsThrottle,
  hashIdent,
  MemoryThrottleStore,
  type KeySpec,
  type ThrottleRequest,
  type ThrottleStore,
} from 'restflow-throttle';

/** A Node response as far as the throttle reads it. */
class FakeResponse extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
  send(status: number): void {
    this.statusCode = status;
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
  }
}

function contextFor(request: object, response: object, type = 'http'): ExecutionContext {
  const args = [request, response];
  return {
    getType: () => type,
    getArgByIndex: (index: number) => args[index],
    getClass: () => class AuthController {},
    getHandler: () => function login() {},
  } as unknown as ExecutionContext;
}

function requestFrom(body: unknown, ip = '203.0.113.7'): ThrottleRequest {
  return { ip, headers: {}, body } as ThrottleRequest;
}

/** A throttle counting in `store` at 2 failed attempts per minute. */
function throttleOn(store: ThrottleStore): FailedAttemptsThrottle {
  const throttle = new FailedAttemptsThrottle();
  throttle.rate = '2/min';
  throttle.cache = store;
  return throttle;
}

describe('FailedAttemptsThrottle keys', () => {
  const throttle = new FailedAttemptsThrottle();
  const key = (body: unknown, ip?: string) =>
    throttle.getCacheKey(requestFrom(body, ip), contextFor({}, new FakeResponse()));

  it('account + address, the account normalised', () => {
    expect(key({ username: 'alice' })).toBe('throttle_login_acct:alice|ip:203.0.113.7');
    expect(key({ username: '  ALICE ' })).toBe('throttle_login_acct:alice|ip:203.0.113.7');
    expect(key({ username: 'ａｌｉｃｅ' })).toBe('throttle_login_acct:alice|ip:203.0.113.7');
    expect(key({ username: 42 })).toBe('throttle_login_acct:42|ip:203.0.113.7');
  });

  it('no usable account: the address alone', () => {
    for (const body of [{}, { username: '' }, { username: '   ' }, { username: ['alice'] }, { username: {} }, null]) {
      expect(key(body)).toBe('throttle_login_ip:203.0.113.7');
    }
    expect(key(Object.create({ username: 'alice' }) as object)).toBe('throttle_login_ip:203.0.113.7');
  });

  it('an account cannot pass for another account and address: `|` and derived forms are hashed', () => {
    // The account part is hashed first; the ident, now longer than 64 characters, is hashed whole.
    const hashed = (account: string) => `throttle_login_${hashIdent(`acct:${hashIdent(account)}|ip:203.0.113.7`)}`;
    expect(key({ username: 'x|ip:1.2.3.4' })).toBe(hashed('x|ip:1.2.3.4'));
    expect(key({ username: 'h:abc' })).toBe(hashed('h:abc'));
    expect(key({ username: 'x' }, '1.2.3.4')).not.toBe(key({ username: 'x|ip:1.2.3.4' }));
  });

  it('a long or spaced account makes the whole ident hashed, so keys stay short and printable', () => {
    const long = `${'a'.repeat(80)}@example.com`;
    expect(key({ username: long })).toBe(`throttle_login_${hashIdent(`acct:${hashIdent(long)}|ip:203.0.113.7`)}`);
    expect(key({ username: 'mary ann' })).toBe(
      `throttle_login_${hashIdent(`acct:${hashIdent('mary ann')}|ip:203.0.113.7`)}`,
    );
  });

  it("keyBy 'account' and 'address', and another accountField", () => {
    const byAccount = new FailedAttemptsThrottle();
    byAccount.keyBy = 'account';
    byAccount.accountField = 'email';
    const context = contextFor({}, new FakeResponse());
    expect(byAccount.getCacheKey(requestFrom({ email: 'Bob@Example.com' }), context)).toBe(
      'throttle_login_acct:bob@example.com',
    );
    expect(byAccount.getCacheKey(requestFrom({ username: 'bob' }), context)).toBe('throttle_login_ip:203.0.113.7');
    const byAddress = new FailedAttemptsThrottle();
    byAddress.keyBy = 'address';
    expect(byAddress.getCacheKey(requestFrom({ username: 'bob' }), context)).toBe('throttle_login_ip:203.0.113.7');
  });

  it('an async getAccount()', async () => {
    class UserThrottle extends FailedAttemptsThrottle {
      override getAccount(request: ThrottleRequest): Promise<unknown> {
        return Promise.resolve((request.user as { id: number }).id);
      }
    }
    const request = { ...requestFrom({}), user: { id: 7 } };
    await expect(new UserThrottle().getCacheKey(request, contextFor({}, new FakeResponse()))).resolves.toBe(
      'throttle_login_acct:7|ip:203.0.113.7',
    );
  });
});

describe('FailedAttemptsThrottle outcomes', () => {
  const response = new FakeResponse() as unknown as ServerResponse;

  it('by default: 2xx succeeds, 429 is given back, anything else fails', () => {
    const throttle = new FailedAttemptsThrottle();
    const outcomes = [200, 204, 301, 302, 400, 401, 403, 429, 500, 503].map((s) =>
      throttle.attemptOutcome(s, response),
    );
    expect(outcomes).toEqual([
      'success',
      'success',
      'failure',
      'failure',
      'failure',
      'failure',
      'failure',
      'other',
      'failure',
      'failure',
    ]);
  });

  it('with failureStatuses: those fail, 2xx succeeds, the rest is given back', () => {
    const throttle = new FailedAttemptsThrottle();
    throttle.failureStatuses = [401, 429];
    const outcomes = [200, 302, 400, 401, 429, 500].map((s) => throttle.attemptOutcome(s, response));
    expect(outcomes).toEqual(['success', 'other', 'other', 'failure', 'failure', 'other']);
  });
});

describe('FailedAttemptsThrottle settles an attempt when its response is over', () => {
  async function attempt(throttle: FailedAttemptsThrottle, response: FakeResponse, body: unknown = { username: 'a' }) {
    return throttle.allowRequest(requestFrom(body), contextFor({}, response));
  }

  it('records on arrival, keeps a failure, forgets the key on a success', async () => {
    const store = new MemoryThrottleStore();
    const forget = jest.spyOn(store, 'forget');
    const throttle = throttleOn(store);
    const first = new FakeResponse();
    const second = new FakeResponse();
    expect([await attempt(throttle, first), await attempt(throttle, second)]).toEqual([true, true]);
    expect(await attempt(throttle, new FakeResponse())).toBe(false);
    first.send(401);
    expect(forget).not.toHaveBeenCalled();
    second.send(200);
    expect(forget).toHaveBeenCalledWith('throttle_login_acct:a|ip:203.0.113.7');
    expect(await attempt(throttle, new FakeResponse())).toBe(true);
  });

  it('a response closed before it was sent keeps the attempt, whatever status was set', async () => {
    const store = new MemoryThrottleStore();
    const throttle = throttleOn(store);
    const refund = jest.spyOn(store, 'refund');
    const forget = jest.spyOn(store, 'forget');
    const gone = new FakeResponse();
    await attempt(throttle, gone);
    gone.statusCode = 200;
    gone.emit('close');
    gone.emit('finish');
    expect([refund.mock.calls.length, forget.mock.calls.length]).toEqual([0, 0]);
  });

  it('resetOnSuccess = false and other outcomes give back one attempt with the rate it was counted at', async () => {
    const store = new MemoryThrottleStore();
    const refund = jest.spyOn(store, 'refund');
    const throttle = throttleOn(store);
    throttle.resetOnSuccess = false;
    throttle.timer = () => 1000;
    const response = new FakeResponse();
    await attempt(throttle, response);
    response.send(200);
    const spec: KeySpec = { limit: 2, durationSec: 60, algorithm: 'sliding-log', scope: 'login' };
    expect(refund).toHaveBeenCalledWith('throttle_login_acct:a|ip:203.0.113.7', 1, spec, 1000);
  });

  it('a store that throws or rejects on the way back is logged once per run, never thrown', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const memory = new MemoryThrottleStore();
    let working = false;
    const flaky: ThrottleStore = {
      ownClock: false,
      hit: (...args) => memory.hit(...args),
      refund: () => (working ? Promise.resolve() : Promise.reject(new Error('refund failed'))),
      forget: () => {
        if (!working) throw new Error('forget failed');
      },
    };
    const throttle = throttleOn(flaky);
    throttle.rate = '10/min';
    const answer = async (status: number) => {
      const response = new FakeResponse();
      await attempt(throttle, response);
      expect(() => response.send(status)).not.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
    };
    await answer(200);
    await answer(429);
    await answer(200);
    working = true;
    await answer(429);
    working = false;
    await answer(429);
    const also = 'Such attempts stay counted; the next failures are not logged until one works again.';
    expect(warn.mock.calls.map(([message]) => message)).toEqual([
      `FailedAttemptsThrottle could not give an attempt back (scope 'login'): forget failed. ${also}`,
      `FailedAttemptsThrottle could not give an attempt back (scope 'login'): refund failed. ${also}`,
    ]);
    warn.mockRestore();
  });

  it('refuses to run outside HTTP, with its code', () => {
    const throttle = throttleOn(new MemoryThrottleStore());
    expect(() => throttle.allowRequest(requestFrom({}), contextFor({}, {}, 'graphql'))).toThrow(
      expect.objectContaining({ code: 'RFT_ATTEMPTS_NOT_HTTP' }) as unknown as Error,
    );
  });
});
