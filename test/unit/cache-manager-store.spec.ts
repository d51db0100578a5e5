/** The get/set store behind its failure policy: busy keys stay exact, dead caches answer fast. */
import { Logger } from '@nestjs/common';
import { CacheManagerStore } from '../../lib/stores/cache-manager.store';
import { FaultTolerantStore } from '../../lib/stores/fault-tolerant.store';
import type { ThrottleCache } from 'restflow-throttle';

class QuietLogger extends Logger {
  readonly warnings: string[] = [];
  override warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

function mapCache(delayMs: () => number): ThrottleCache {
  const values = new Map<string, unknown>();
  const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), delayMs()));
  return {
    get: <T>(key: string) => later(values.get(key) as T | undefined),
    set: (key: string, value: unknown) => later(values.set(key, structuredClone(value))),
  };
}

describe('CacheManagerStore behind FaultTolerantStore', () => {
  it('a busy key waiting far longer than the deadline in its queue is still exact (no fail-open)', async () => {
    const logger = new QuietLogger();
    const store = new FaultTolerantStore(new CacheManagerStore(mapCache(() => 2), 50), { timeoutMs: 50, policy: 'allow', name: 'slow', logger });
    const results = await Promise.all(Array.from({ length: 120 }, () => store.hit('k', 30, 60, 1000)));
    expect(results.filter((r) => r.allowed)).toHaveLength(30);
    expect(logger.warnings).toEqual([]);
  });

  it('a dead cache: every queued hit is answered within about one deadline, with one warning', async () => {
    const logger = new QuietLogger();
    const dead: ThrottleCache = { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined) };
    const store = new FaultTolerantStore(new CacheManagerStore(dead, 100), { timeoutMs: 100, policy: 'allow', name: 'dead', logger });
    const started = performance.now();
    const times = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const result = await store.hit('k', 1, 60, 1000);
        expect(result.allowed).toBe(true);
        return performance.now() - started;
      }),
    );
    expect(Math.max(...times)).toBeLessThan(400);
    expect(logger.warnings).toHaveLength(1);
    expect(store.isDown).toBe(true);
  });

  it("a dead cache with 'deny': 503 for every queued hit", async () => {
    const dead: ThrottleCache = { get: () => new Promise(() => undefined), set: async () => undefined };
    const store = new FaultTolerantStore(new CacheManagerStore(dead, 50), { timeoutMs: 50, policy: 'deny', name: 'dead', logger: new QuietLogger() });
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => store.hit('k', 1, 60, 1000)));
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as { getStatus(): number }).getStatus() === 503)).toBe(true);
  });
});
