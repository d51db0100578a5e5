/**
 * CacheFaults, the one place for a remote store's deadlines and fault
 * policy: outage warnings of a server answering some calls and not others
 * (one when it starts, one when it is over, not one per flip), the
 * policy's answer, the deadline that measures the cache, not the process,
 * and the state of one Cluster master of its own, named.
 */
import type { Logger } from '@nestjs/common';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CacheUnavailableException } from '../../../lib/exceptions/cache-unavailable.exception';
import { CacheFaults } from '../../../lib/stores/cache-faults';
import type { UndecidedHit } from '../../../lib/stores/local-fallback';
import type { HitResult } from '../../../lib/stores/throttle-store';

function capture(): { logger: Pick<Logger, 'warn'>; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { warn: (message: string) => warnings.push(message) }, warnings };
}

/** A 10/min hit on key `k` at `now`, as a store hands it to the policy. */
const undecided = (now: number): UndecidedHit => ({ key: 'k', limit: 10, duration: 60, now, algorithm: 'sliding-log' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RECOVERY_QUIET_MS = 1000;
let server: Server;

/** A scripted remote call, as a store makes it: answered, failed, or hanging past its deadline. */
async function call(faults: CacheFaults, answer: 'ok' | 'fail' | 'hang'): Promise<'ok' | 'fault'> {
  const startedAt = performance.now();
  if (answer === 'fail') {
    faults.failed(new Error('connection refused'), startedAt);
    return 'fault';
  }
  if (answer === 'hang') {
    await new Promise<void>((resolve) => faults.deadline(resolve));
    return 'fault';
  }
  const deadline = faults.deadline(() => undefined);
  expect(deadline.answered()).toBe(true);
  faults.succeeded();
  return 'ok';
}

/** The fault clock, moved by hand: no test waits out the quiet second for real. */
class Clock {
  ms = 0;
  readonly read = () => this.ms;
}

it('a server failing every other call is one outage, not a warning per call', async () => {
  const { logger, warnings } = capture();
  const clock = new Clock();
  const faults = new CacheFaults({ timeoutMs: 50, policy: 'allow', name: 'default', logger, clock: clock.read });
  for (let i = 0; i < 20; i++) {
    await call(faults, i % 2 === 0 ? 'fail' : 'ok');
    clock.ms += 100;
  }
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/'default' is unavailable \(connection refused\)/);
  expect(faults.isDown).toBe(true);

  clock.ms += RECOVERY_QUIET_MS; // a quiet second: the next answer ends the outage
  await call(faults, 'ok');
  expect(warnings).toHaveLength(2);
  expect(warnings[1]).toMatch(/'default' is available again/);
  expect(faults.isDown).toBe(false);
});

it('tells onOutage when an outage starts and when it ends, once each, with the warnings', async () => {
  const clock = new Clock();
  const events: string[] = [];
  const faults = new CacheFaults({
    timeoutMs: 50,
    policy: 'allow',
    name: 'default',
    logger: capture().logger,
    clock: clock.read,
    onOutage: (state, reason) => events.push(reason === undefined ? state : `${state}: ${reason}`),
  });
  await call(faults, 'ok');
  for (let i = 0; i < 5; i++) await call(faults, 'fail');
  clock.ms += RECOVERY_QUIET_MS;
  for (let i = 0; i < 5; i++) await call(faults, 'ok');
  expect(events).toEqual(['down: connection refused', 'up']);
});

it("a Cluster master's state (forNode) is its own: its warnings and events name it, the store's stay up", async () => {
  const { logger, warnings } = capture();
  const clock = new Clock();
  const events: string[] = [];
  const faults = new CacheFaults({
    timeoutMs: 50,
    policy: 'deny',
    name: 'default',
    logger,
    clock: clock.read,
    onOutage: (...args) => events.push(args.join(' ')),
  });
  const master = faults.forNode('10.0.0.1:6379');
  expect(master.node).toBe('10.0.0.1:6379');
  await call(master, 'fail');
  expect([master.isDown, faults.isDown]).toEqual([true, false]);
  clock.ms += RECOVERY_QUIET_MS;
  await call(master, 'ok');
  expect(warnings).toEqual([
    "Throttle cache 'default' node 10.0.0.1:6379 is unavailable (connection refused); " +
      'answering 503 for its keys until it recovers.',
    "Throttle cache 'default' node 10.0.0.1:6379 is available again; throttling resumed.",
  ]);
  expect(events).toEqual(['down connection refused 10.0.0.1:6379', 'up  10.0.0.1:6379']);
});

it('a master that serves no slot (retired) ends its outage at once, said once; a healthy one: no word', async () => {
  const { logger, warnings } = capture();
  const faults = new CacheFaults({ timeoutMs: 50, policy: 'allow', name: 'default', logger });
  const down = faults.forNode('10.0.0.1:6379');
  await call(down, 'fail');
  const startedBefore = performance.now();
  down.retired();
  faults.forNode('10.0.0.2:6379').retired();
  expect(down.isDown).toBe(false);
  expect(warnings.slice(1)).toEqual([
    "Throttle cache 'default' node 10.0.0.1:6379 serves no slot any more (failed over or resharded); " +
      'its keys are decided by the masters that took them over.',
  ]);
  down.failed(new Error('a late failure'), startedBefore); // of a call started before it was retired: no new outage
  expect(down.isDown).toBe(false);
});

it('a call of the ended outage timing out late does not start a new one', async () => {
  const { logger, warnings } = capture();
  const clock = new Clock();
  const faults = new CacheFaults({ timeoutMs: 30, policy: 'deny', name: 'default', logger, clock: clock.read });
  await call(faults, 'fail');
  const straggler = call(faults, 'hang'); // started during the outage, times out after it ends
  clock.ms += RECOVERY_QUIET_MS + 50;
  await call(faults, 'ok');
  expect(faults.isDown).toBe(false);
  expect(await straggler).toBe('fault');
  expect(faults.isDown).toBe(false);
  expect(warnings.map((w) => /unavailable|available again/.exec(w)?.[0])).toEqual(['unavailable', 'available again']);
});

it("answers by the policy: 'allow' admits, 'deny' is a 503 (CacheUnavailableException)", async () => {
  const allow = new CacheFaults({ timeoutMs: 50, policy: 'allow', name: 'a', logger: capture().logger });
  await expect(allow.withoutCache(undecided(12))).resolves.toEqual({ allowed: true, now: 12, count: 0, oldest: null });
  const deny = new CacheFaults({ timeoutMs: 50, policy: 'deny', name: 'd', logger: capture().logger });
  await expect(deny.withoutCache(undecided(12))).rejects.toBeInstanceOf(CacheUnavailableException);
  const outcomes: unknown[] = [];
  deny.answer({ resolve: (r: HitResult) => outcomes.push(r), reject: (e: unknown) => outcomes.push(e) }, undecided(1));
  expect(outcomes[0]).toBeInstanceOf(CacheUnavailableException);
  expect((outcomes[0] as CacheUnavailableException).getStatus()).toBe(503);
});

it('the deadline measures the cache, not the process: a reply that arrived during a busy loop is in time', async () => {
  const { logger, warnings } = capture();
  const faults = new CacheFaults({ timeoutMs: 20, policy: 'allow', name: 'busy', logger });
  const accepted = new Promise<Socket>((resolve) => (server = createServer(resolve)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const serverSide = await accepted;
  try {
    const reply = new Promise((resolve) => client.once('data', resolve));
    let expired = 0;
    const deadline = faults.deadline(() => expired++);
    serverSide.write('reply'); // in the client's socket buffer at once
    const until = performance.now() + 60; // busy three times the deadline
    while (performance.now() < until);
    await reply; // read in the poll phase, after the expired timer ran
    expect(deadline.answered()).toBe(true);
    await sleep(30);
    expect(expired).toBe(0);
    expect(warnings).toEqual([]);
  } finally {
    client.destroy();
    serverSide.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

it('while a call hangs, new calls wait for a probe slot (one per second), and a late answer frees them all', async () => {
  const clock = new Clock();
  const faults = new CacheFaults({
    timeoutMs: 10,
    policy: 'allow',
    name: 'hung',
    logger: capture().logger,
    clock: clock.read,
  });
  expect(faults.mayCall()).toBe(true);
  await new Promise<void>((resolve) => faults.deadline(resolve)); // expires: one call hangs
  expect(faults.hangingCalls).toBe(1);
  expect(Array.from({ length: 100 }, () => faults.mayCall()).filter(Boolean)).toHaveLength(0);
  clock.ms += 1000; // a second later: one probe, and only one
  expect(Array.from({ length: 100 }, () => faults.mayCall()).filter(Boolean)).toHaveLength(1);
  faults.lateAnswer();
  expect(faults.hangingCalls).toBe(0);
  expect(Array.from({ length: 100 }, () => faults.mayCall()).filter(Boolean)).toHaveLength(100);
});
