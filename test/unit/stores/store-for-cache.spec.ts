/** Which store a configured cache gets; a client the module cannot drive stops the app instead of limiting nothing. */
import { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from 'restflow-throttle';
import { storeForCache } from '../../../lib/stores/store-for-cache';

const options = { name: 'default', policy: 'allow' as const, timeoutMs: 100, logger: new Logger('test') };

describe('storeForCache', () => {
  it('refuses a node-redis Sentinel client (createSentinel()), which has get/set but cannot run the throttles', () => {
    const sentinel = {
      getSentinelNode() {},
      sendCommand: async () => null,
      isOpen: true,
      get: async () => null,
      set: async () => undefined,
    };
    let thrown: unknown;
    try {
      storeForCache(sentinel, options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ImproperlyConfiguredError);
    expect((thrown as ImproperlyConfiguredError).code).toBe('RFT_UNSUPPORTED_CLIENT');
  });

  it('uses a ThrottleStore as it is', () => {
    const store = { ownClock: false, hit: () => ({ allowed: true, now: 0, count: 1, oldest: 0 }) };
    expect(storeForCache(store, options)).toBe(store);
  });
});
