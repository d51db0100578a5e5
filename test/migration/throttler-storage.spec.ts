/**
 * Port of @nestjs/throttler's src/throttler.service.spec.ts (6.x), written from the migration guide.
 *
 * The peer's `ThrottlerStorage.increment(key, ttl, limit, blockDuration, name)` is a store's
 * `hit(key, limit, durationSeconds, now, algorithm, scope, cost, blockSeconds)` here (`ThrottleStore`;
 * `MemoryThrottleStore` is the default one, as `ThrottlerStorageService` is the peer's). Time is the `now`
 * passed in, so nothing sleeps. The peer's record (`totalHits`, `timeToExpire`, `isBlocked`) reads here as
 * `count`, `duration - (now - oldest)` and `!allowed`; a refused hit is not counted (DRF), where the peer counts
 * it; both block the key, here until the block ends or the key has room again, whichever is later.
 */
import { Test } from '@nestjs/testing';
import { MemoryThrottleStore, RestflowThrottleModule, type ThrottleStore, ThrottleStores } from 'restflow-throttle';
import { T0 } from './helpers';

describe('ThrottlerStorageService', () => {
  let service: MemoryThrottleStore;
  beforeEach(() => {
    service = new MemoryThrottleStore();
  });

  it('should have all of the providers defined', async () => {
    const store: ThrottleStore = service;
    expect(store.ownClock).toBe(false);
    const moduleRef = await Test.createTestingModule({ imports: [RestflowThrottleModule.forRoot({})] }).compile();
    expect(moduleRef.get(ThrottleStores)).toBeInstanceOf(ThrottleStores);
    await moduleRef.close();
  });

  it('should increment the request count', () => {
    const result = service.hit('test', 1, 1, T0);
    expect(result).toEqual({ allowed: true, now: T0, count: 1, oldest: T0 });
    // The peer's timeToExpire, in seconds.
    expect(1 - (result.now - (result.oldest as number))).toBe(1);
  });

  it('keys should be independent of each other over blocking and unblocking', () => {
    // key1: 1 hit per 50 ms against 3 per 100 ms, never refused; key2: 2 per 50 ms, blocked 100 ms when refused.
    const hit = (key: string, now: number) => service.hit(key, 3, 0.1, now, 'sliding-log', undefined, 1, 0.1).allowed;
    const key2: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const now = T0 + i * 0.05;
      expect(hit('key1', now)).toBe(true);
      key2.push(hit('key2', now), hit('key2', now));
    }
    // key2: full at its 4th hit (50 ms), blocked for the next step (100 ms), free again at 150 ms, and so on.
    expect(key2).toEqual([...Array(3).fill([true, true, true, false, false, false]).flat(), true, true]);
  });
});
