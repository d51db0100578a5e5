/**
 * How the Redis store paces its batches, against a fake connection whose
 * replies the test releases by hand: at most two batches out at once, one
 * script per batch, and hits that arrive meanwhile wait and go together.
 */
import { CacheFaults } from '../../../lib/stores/cache-faults';
import type { RedisConnection } from '../../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../../lib/stores/redis/redis.store';
import type { HitResult } from '../../../lib/stores/throttle-store';

class HeldConnection implements RedisConnection {
  readonly library = 'fake';
  readonly cluster = false;
  readonly sent: Array<{ commands: ReadonlyArray<readonly string[]>; answer: () => void }> = [];

  isReady(): boolean {
    return true;
  }

  send(commands: ReadonlyArray<readonly string[]>): Promise<unknown[]> {
    return new Promise((resolve) => {
      // Every hit allowed, as the script would answer at server time 100.
      const replies = commands.map((command) => ['100', ...Array.from({ length: Number(command[2]) }, () => '1 100 1 100')].join('\n'));
      this.sent.push({ commands, answer: () => resolve(replies) });
    });
  }

  /** The keys of each send so far. */
  keys(): string[][] {
    return this.sent.map(({ commands }) => commands.flatMap((command) => command.slice(3, 3 + Number(command[2]))));
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

it('keeps at most two batches out; hits that arrive meanwhile go together as one script when one is answered', async () => {
  const connection = new HeldConnection();
  const store = new RedisThrottleStore(connection, new CacheFaults({ name: 'fake', policy: 'allow', timeoutMs: 60_000 }));
  const settled: string[] = [];
  const hit = (key: string): Promise<HitResult> => store.hit(key, 5, 60, undefined).then((result) => (settled.push(key), result));

  const a = hit('a');
  await nextTurn();
  const b = hit('b');
  await nextTurn();
  const rest = [hit('c'), hit('d')];
  await nextTurn();
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b']]); // c and d wait: two batches are out

  connection.sent[0].answer();
  expect(await a).toEqual({ allowed: true, now: 100, count: 1, oldest: 100 });
  await nextTurn();
  expect(connection.keys()).toEqual([['a'], ['b'], ['c', 'd']]);
  expect(connection.sent[2].commands).toHaveLength(1); // one script for both

  connection.sent[1].answer();
  connection.sent[2].answer();
  await Promise.all([b, ...rest]);
  expect(settled).toEqual(['a', 'b', 'c', 'd']);
});
