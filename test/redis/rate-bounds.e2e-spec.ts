/**
 * A hit the Redis script cannot count (issue 24, item 7), against a
 * redis-server of the test's own: `1/1100000000d` overflowed the expiry in
 * the script, which failed the whole batch (every other client answered by
 * the policy, an outage declared) after writing the key without a TTL, so
 * that client stayed throttled for good. Now such a hit is that request's
 * error and no other's, nothing is written for it, and no key is ever left
 * without an expiry.
 */
import { CacheFaults } from '../../lib/stores/cache-faults';
import { IoredisConnection } from '../../lib/stores/redis/clients/ioredis';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import { THROTTLE_SCRIPT } from '../../lib/stores/redis/throttle-script.lua';
import { redisForSuite } from '../helpers/redis-server';

/** The period of `1/1100000000d`, which parseRate() now refuses, as it reached the store before. */
const OVERFLOWING = 1_100_000_000 * 86_400;

const redis = redisForSuite();

function storeWith(policy: 'allow' | 'deny'): RedisThrottleStore {
  const faults = new CacheFaults({ name: 'redis', policy, timeoutMs: 2000 });
  return new RedisThrottleStore(new IoredisConnection(redis.client), faults);
}

/** Every key on the server with its PTTL: -1 would be a key without an expiry. */
async function pttls(): Promise<Map<string, number>> {
  const keys = (await redis.server.command('KEYS', '*')) as string[];
  return new Map(
    await Promise.all(keys.map(async (key) => [key, Number(await redis.server.command('PTTL', key))] as const)),
  );
}

it('a batch with bad hits beside good ones: the good ones decided, each bad one its own error, no outage', async () => {
  const warnings: string[] = [];
  const logger = { warn: (m: string) => warnings.push(m) };
  const faults = new CacheFaults({ name: 'redis', policy: 'allow', timeoutMs: 2000, logger });
  const store = new RedisThrottleStore(new IoredisConnection(redis.client), faults);
  await store.hit('warm', 1, 60, undefined);
  const outcomes = await Promise.allSettled([
    store.hit('good-1', 5, 60, undefined),
    store.hit('bad-log', 1, OVERFLOWING, undefined),
    store.hit('good-2', 5, 60, undefined, 'gcra'),
    store.hit('bad-gcra', 1, OVERFLOWING, undefined, 'gcra'),
    store.hit('bad-limit', Number.NaN, 60, undefined),
    store.hit('bad-now', 5, 60, Number.POSITIVE_INFINITY),
    store.hit('good-1', 5, 60, undefined),
  ]);
  expect(outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.allowed, o.value.count] : o.status))).toEqual([
    [true, 1],
    'rejected',
    [true, 1],
    'rejected',
    'rejected',
    'rejected',
    [true, 2],
  ]);
  const reasons = outcomes.flatMap((o) => (o.status === 'rejected' ? [String((o.reason as Error).message)] : []));
  expect(reasons).toEqual([
    expect.stringMatching(/^Redis cannot count a hit of limit 1 per 95040000000000 s: its duration is out of range/),
    expect.stringMatching(/its duration is out of range/),
    expect.stringMatching(/its limit is out of range/),
    expect.stringMatching(/its now is out of range/),
  ]);
  expect([warnings, faults.isDown]).toEqual([[], false]);
});

it('no key is left without an expiry, and none is written for a bad hit', async () => {
  await redis.server.command('FLUSHALL');
  const store = storeWith('allow');
  await Promise.allSettled([
    store.hit('ttl-good', 5, 60, undefined),
    store.hit('ttl-bad-log', 1, OVERFLOWING, undefined),
    store.hit('ttl-bad-gcra', 1, OVERFLOWING, undefined, 'gcra'),
    store.hit('ttl-good-gcra', 5, 60, undefined, 'gcra'),
  ]);
  const keys = await pttls();
  expect([...keys.keys()].sort()).toEqual(['ttl-good', 'ttl-good-gcra']);
  for (const [key, pttl] of keys) expect({ key, expires: pttl > 0 }).toEqual({ key, expires: true });
});

it('the script answers `e <what>` per hit for settings out of range, and writes nothing for them', async () => {
  const run = async (group: string) =>
    String(await redis.server.command('EVAL', THROTTLE_SCRIPT, '2', 'e-1', 'e-2', '', group));
  expect((await run(`2 1 ${OVERFLOWING} - s`)).split('\n').slice(1)).toEqual(['e duration', 'e duration']);
  expect((await run(`2 1 ${OVERFLOWING} - g`)).split('\n').slice(1)).toEqual(['e duration', 'e duration']);
  expect((await run('2 nan 60 - s')).split('\n').slice(1)).toEqual(['e limit', 'e limit']);
  expect((await run('2 -1 60 - g')).split('\n').slice(1)).toEqual(['e limit', 'e limit']);
  expect((await run('2 5 0 - s')).split('\n').slice(1)).toEqual(['e duration', 'e duration']);
  expect((await run('2 5 inf - s')).split('\n').slice(1)).toEqual(['e duration', 'e duration']);
  expect((await run('2 5 60 1e300 s')).split('\n').slice(1)).toEqual(['e now', 'e now']);
  expect(await redis.server.command('EXISTS', 'e-1', 'e-2')).toBe(0);
});

it('at the longest period parseRate() accepts, both algorithms write their key with an expiry', async () => {
  const store = storeWith('deny');
  expect(await store.hit('longest-log', 1, 4_503_599_627_370, undefined)).toMatchObject({ allowed: true, count: 1 });
  expect(await store.hit('longest-gcra', 1, 4_503_599_627_370, undefined, 'gcra')).toMatchObject({
    allowed: true,
    count: 1,
  });
  for (const key of ['longest-log', 'longest-gcra']) {
    expect(Number(await redis.server.command('PTTL', key))).toBeGreaterThan(4e15);
  }
});
