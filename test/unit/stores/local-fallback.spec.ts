/**
 * `onCacheError: 'local'`: while the shared store is out, each process limits on its own memory at
 * `ceil(limit / processes)`, says so once, and goes back to the shared store when it recovers; on a
 * Cluster only the sick master's keys. Against a fake Redis connection and a failing get/set cache.
 */
import type { Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../../../lib/exceptions/improperly-configured.error';
import { validateOptions } from '../../../lib/module/options-validation';
import type { RestflowThrottleOptions } from '../../../lib/module/options';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import { CacheManagerStore } from '../../../lib/stores/get-set/cache-manager.store';
import { LocalFallback } from '../../../lib/stores/local-fallback';
import { keySlot } from '../../../lib/stores/redis/cluster-slot';
import type { RedisConnection } from '../../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import type { HitResult } from '../../../lib/stores/throttle-store';
import { computeWait } from '../../../lib/throttles/rate';

/** What the fake server does: it knows it is gone (`down`), fails each send (`failing`), or decides (`up`). */
type Health = 'down' | 'failing' | 'up';

/** A fake Redis whose every hit Redis decides as admitted at server time 100; per master on a Cluster. */
class FakeConnection implements RedisConnection {
  readonly library = 'fake';
  readonly cluster: boolean;
  /** Hits sent to Redis, by key. */
  readonly sentKeys: string[] = [];
  health: Health = 'up';
  /** On a Cluster: the one master that is sick (the others are `up`). */
  sickMaster?: string;

  constructor(private readonly slotMap?: (slot: number) => string) {
    this.cluster = slotMap !== undefined;
  }

  isReady(): boolean {
    return this.cluster || this.health !== 'down';
  }

  masterOf(slot: number): string | undefined {
    return this.slotMap?.(slot);
  }

  masters(): string[] {
    return this.slotMap === undefined ? [] : ['a:1', 'b:1'];
  }

  async send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    const keys = commands.flatMap((command) => command.slice(3, 3 + Number(command[2])));
    const master = this.slotMap?.(keySlot(keys[0]));
    if (this.health === 'failing' && (master === undefined || master === this.sickMaster)) {
      throw new Error('connection reset');
    }
    this.sentKeys.push(...keys);
    const admitted = (command: readonly string[]) => Array.from({ length: Number(command[2]) }, () => '1 100 1 100');
    return commands.map((command) => ['100', ...admitted(command)].join('\n'));
  }
}

/** The fault clock, moved by hand past the quiet second that ends an outage. */
class Clock {
  ms = 0;
  readonly read = () => this.ms;
}

function capture(): { logger: Pick<Logger, 'warn'>; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { warn: (message: string) => warnings.push(message) }, warnings };
}

function localFaults(processes: number, logger: Pick<Logger, 'warn'>, clock: Clock): CacheFaults {
  const local = new LocalFallback({ processes, maxKeys: 1000 });
  return new CacheFaults({ name: 'default', policy: 'local', timeoutMs: 1000, logger, clock: clock.read, local });
}

const admittedOf = (results: readonly HitResult[]) => results.filter((r) => r.allowed).length;

describe.each<Health>(['down', 'failing'])("'local', processes 2, Redis %s", (health) => {
  it('admits exactly 5 of a 10/min key in process, says so once, and Redis decides again after recovery', async () => {
    const { logger, warnings } = capture();
    const clock = new Clock();
    const connection = new FakeConnection();
    const store = new RedisThrottleStore(connection, localFaults(2, logger, clock));
    connection.health = health;

    const results: HitResult[] = [];
    for (let i = 0; i < 8; i++) results.push(await store.hit('client', 10, 60, undefined));
    expect(admittedOf(results)).toBe(5);
    expect(results.slice(0, 5).every((r) => r.allowed)).toBe(true);
    expect(connection.sentKeys).toEqual([]);
    // In the throttle's terms: a local refusal is a full window of 10, with DRF's wait about a minute.
    const refused = results[5];
    expect(refused.count).toBe(10);
    expect(computeWait({ ...refused, numRequests: 10, duration: 60 })).toBeGreaterThan(59);
    expect(results[0].count).toBe(6); // 5 left locally
    expect(warnings).toEqual([
      "Throttle cache 'default' is unavailable (" +
        (health === 'down' ? 'the fake connection is not ready' : 'connection reset') +
        '); limiting locally in this process at 1/2 of each limit until it recovers.',
    ]);

    connection.health = 'up';
    clock.ms += 1000; // the quiet second
    const after = await Promise.all([store.hit('client', 10, 60, undefined), store.hit('fresh', 10, 60, undefined)]);
    expect(after).toEqual([
      { allowed: true, now: 100, count: 1, oldest: 100 },
      { allowed: true, now: 100, count: 1, oldest: 100 },
    ]);
    expect(connection.sentKeys).toEqual(['client', 'fresh']);
    expect(warnings[1]).toBe("Throttle cache 'default' is available again; limits are shared again.");
  });
});

it('a get/set cache that fails: the same share in process, for GCRA too', async () => {
  const { logger, warnings } = capture();
  const failing = { get: () => Promise.reject(new Error('ECONNREFUSED')), set: () => Promise.resolve() };
  const store = new CacheManagerStore(failing, localFaults(2, logger, new Clock()));
  const log: HitResult[] = [];
  const gcra: HitResult[] = [];
  for (let i = 0; i < 8; i++) {
    log.push(await store.hit('log', 10, 60, 1000 + i));
    gcra.push(await store.hit('gcra', 10, 60, 1000 + i / 100, 'gcra'));
  }
  expect(admittedOf(log)).toBe(5);
  expect(admittedOf(gcra)).toBe(5);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/unavailable \(ECONNREFUSED\); limiting locally in this process at 1\/2/);
});

it('processes 1 (the default): the whole limit locally, and the warning says no share', async () => {
  const { logger, warnings } = capture();
  const connection = new FakeConnection();
  connection.health = 'down';
  const faults = new CacheFaults({ name: 'default', policy: 'local', timeoutMs: 1000, logger });
  const store = new RedisThrottleStore(connection, faults);
  const results: HitResult[] = [];
  for (let i = 0; i < 7; i++) results.push(await store.hit('client', 5, 60, undefined));
  expect(admittedOf(results)).toBe(5);
  expect(warnings[0]).toMatch(/; limiting locally in this process until it recovers\.$/);
});

it("on a Cluster only the sick master's keys are limited locally; the others are Redis'", async () => {
  const { logger, warnings } = capture();
  const clock = new Clock();
  const connection = new FakeConnection((slot) => (slot < 8192 ? 'a:1' : 'b:1'));
  const store = new RedisThrottleStore(connection, localFaults(2, logger, clock));
  const onA = Array.from({ length: 50 }, (_, i) => `k${i}`).find((key) => keySlot(key) < 8192)!;
  const onB = Array.from({ length: 50 }, (_, i) => `k${i}`).find((key) => keySlot(key) >= 8192)!;
  connection.health = 'failing';
  connection.sickMaster = 'a:1';
  const sick: HitResult[] = [];
  const healthy: HitResult[] = [];
  for (let i = 0; i < 8; i++) {
    sick.push(await store.hit(onA, 10, 60, undefined));
    healthy.push(await store.hit(onB, 10, 60, undefined));
  }
  expect(admittedOf(sick)).toBe(5);
  expect(healthy.every((r) => r.allowed && r.now === 100)).toBe(true);
  expect(connection.sentKeys).toEqual(Array.from({ length: 8 }, () => onB));
  expect(warnings).toEqual([
    "Throttle cache 'default' node a:1 is unavailable (connection reset); " +
      'limiting locally in this process at 1/2 of each limit for its keys until it recovers.',
  ]);
});

describe('the localFallback option', () => {
  const wrong = (options: Record<string, unknown>): ImproperlyConfiguredError => {
    try {
      validateOptions(options as RestflowThrottleOptions);
    } catch (error) {
      return error as ImproperlyConfiguredError;
    }
    throw new Error(`${JSON.stringify(options)} was taken`);
  };

  it("takes onCacheError: 'local' alone (1 process) or with { processes }", () => {
    expect(validateOptions({ onCacheError: 'local' })).toEqual({ onCacheError: 'local' });
    const options: RestflowThrottleOptions = { onCacheError: 'local', localFallback: { processes: 4 } };
    expect(validateOptions(options)).toEqual(options);
  });

  it('stops the app with RFT_INVALID_LOCAL_FALLBACK for a wrong value, naming it', () => {
    const local = (localFallback: unknown) => wrong({ onCacheError: 'local', localFallback });
    expect(local({ processes: 0 }).code).toBe('RFT_INVALID_LOCAL_FALLBACK');
    expect(local({ processes: 1.5 }).message).toMatch(/processes must be a whole number .* got 1\.5\.$/);
    expect(local({ processes: '4' }).message).toMatch(/got "4" \(a string from the environment/);
    expect(local(4).message).toMatch(/must be an object such as \{ processes: 4 \}, got 4\./);
    expect(local({ process: 4 }).message).toMatch(/has no option 'process'/);
    const without = wrong({ onCacheError: 'deny', localFallback: { processes: 2 } });
    expect(without.code).toBe('RFT_INVALID_LOCAL_FALLBACK');
    expect(without.message).toMatch(/onCacheError is "deny": set onCacheError: 'local'/);
    expect(wrong({ onCacheError: 'locally' }).code).toBe('RFT_INVALID_OPTION');
  });
});

describe.each<Health>(['down', 'failing'])("'local' keeps what a hit carries, Redis %s", (health) => {
  const outage = () => {
    const connection = new FakeConnection();
    const store = new RedisThrottleStore(connection, localFaults(1, capture().logger, new Clock()));
    connection.health = health;
    return { store, connection };
  };

  it('a request cost counts as its cost in process, and a block starts there', async () => {
    const { store, connection } = outage();
    // 10/min at cost 4: 4 + 4 fit, the third does not; then a block of 120 s outlasts the window.
    const costs: HitResult[] = [];
    for (let i = 0; i < 3; i++) costs.push(await store.hit('costly', 10, 60, 1000, 'sliding-log', undefined, 4, 120));
    expect(costs.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(costs[1].count).toBe(8);
    const blocked = await store.hit('costly', 10, 60, 1061, 'sliding-log', undefined, 1, 120);
    expect(blocked.allowed).toBe(false);
    expect(computeWait({ ...blocked, numRequests: 10, duration: 60 })).toBeCloseTo(59, 5);
    expect(connection.sentKeys).toEqual([]);
  });

  it('the hits of one all-or-none request are decided together: a refusal by one records none', async () => {
    const { store } = outage();
    const request = () =>
      store.hitAll(
        [
          { key: 'short', limit: 1, durationSec: 1, algorithm: 'sliding-log' },
          { key: 'long', limit: 3, durationSec: 60, algorithm: 'sliding-log' },
        ],
        1000,
      );
    expect((await request()).map((r) => r.allowed)).toEqual([true, true]);
    // Refused by `short`: `long` allows it but records nothing, so after `short`'s second it still has 2 left.
    for (let i = 0; i < 3; i++) expect((await request()).map((r) => r.allowed)).toEqual([false, true]);
    const later = await store.hitAll(
      [
        { key: 'short', limit: 1, durationSec: 1, algorithm: 'sliding-log' },
        { key: 'long', limit: 3, durationSec: 60, algorithm: 'sliding-log' },
      ],
      1001.5,
    );
    expect(later.map((r) => [r.allowed, r.count])).toEqual([
      [true, 1],
      [true, 2],
    ]);
  });
});
