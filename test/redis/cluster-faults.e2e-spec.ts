/**
 * Faults stay on their Cluster master (docs/faults.md, "Redis Cluster and
 * failover"): on a Cluster of 3 masters and 3 replicas, one master frozen
 * (SIGSTOP) and then another killed (SIGKILL), with an ioredis Cluster and a
 * node-redis cluster, each under `'allow'` and `'deny'` at once. The keys of
 * the healthy masters are decided by Redis, exactly at their limit, each
 * answer within the deadline and a little; the sick master's keys are
 * answered by the policy within the deadline; one warning names that master
 * when its outage starts and one when it ends; nothing is applied late; after
 * SIGCONT, or once the killed master's replica is promoted, its keys are
 * exact again.
 */
import { Cluster } from 'ioredis';
import { createCluster } from 'redis';
import { CacheUnavailableException } from '../../lib/exceptions/cache-unavailable.exception';
import { CacheFaults } from '../../lib/stores/cache-faults';
import { findRedisConnection } from '../../lib/stores/redis/find-redis';
import { keySlot } from '../../lib/stores/redis/cluster-slot';
import type { RedisConnection } from '../../lib/stores/redis/redis-connection';
import { RedisThrottleStore } from '../../lib/stores/redis/redis.store';
import { type ClusterNode, RedisCluster } from '../helpers/redis-cluster';
import type { RedisServer } from '../helpers/redis-server';

const TIMEOUT_MS = 200;
/** What "a little" past the deadline may be: timers, the check phase, two busy cores. */
const SLACK_MS = 150;
const LIMIT = 30;
/** Hits on every key of the run, one each this often. */
const TICK_MS = 20;

type Policy = 'allow' | 'deny';
/** How a hit was answered: by Redis (admitted, refused), by the policy (admitted, 503), or anything else. */
type Answer = 'redis-allowed' | 'redis-denied' | 'policy-allowed' | 'policy-503' | string;

interface Subject {
  readonly name: string;
  readonly policy: Policy;
  readonly store: RedisThrottleStore;
  readonly warnings: string[];
  readonly events: string[];
}

interface Answered {
  readonly key: string;
  readonly answer: Answer;
  /** When it was asked (`performance.now()`), and how long it waited. */
  readonly at: number;
  readonly ms: number;
}

let cluster: RedisCluster;
let ioredis: Cluster;
let nodeRedis: ReturnType<typeof createCluster>;
let subjects: Subject[];
let masters: ClusterNode[];
let fresh = 0;

beforeAll(async () => {
  // Without full coverage, the healthy masters keep serving while a failed master's replica is elected.
  cluster = await RedisCluster.start(3, {
    replicas: 1,
    args: ['--cluster-require-full-coverage', 'no'],
  });
  ioredis = new Cluster(cluster.nodes).on('error', () => undefined);
  nodeRedis = createCluster({ rootNodes: cluster.nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })) });
  nodeRedis.on('error', () => undefined);
  await nodeRedis.connect();
  const connections: Array<[string, RedisConnection]> = [
    ['ioredis', findRedisConnection(ioredis) as RedisConnection],
    ['node-redis', findRedisConnection(nodeRedis) as RedisConnection],
  ];
  subjects = connections.flatMap(([library, connection]) =>
    (['allow', 'deny'] as const).map((policy) => subjectOn(`${library} ${policy}`, policy, connection)),
  );
  masters = (await cluster.topology()).filter((node) => node.role === 'master');
  expect(masters).toHaveLength(3);
  // Every master answers each store once: scripts loaded, clock offsets learned, lanes made.
  await Promise.all(
    subjects.flatMap((s) => masters.map((m) => s.store.hit(keysOn(m, 1, 'warm')[0], LIMIT, 60, undefined))),
  );
}, 30_000);

afterAll(async () => {
  for (const server of cluster?.servers ?? []) server.thaw();
  ioredis?.disconnect();
  await nodeRedis?.destroy();
  await cluster?.dispose();
});

function subjectOn(name: string, policy: Policy, connection: RedisConnection): Subject {
  const warnings: string[] = [];
  const events: string[] = [];
  const faults = new CacheFaults({
    name,
    policy,
    timeoutMs: TIMEOUT_MS,
    logger: { warn: (message: string) => warnings.push(message) },
    onOutage: (state, _reason, node) => events.push(`${state} ${node}`),
  });
  return { name, policy, store: new RedisThrottleStore(connection, faults), warnings, events };
}

/** `count` keys never used before whose slots `master` serves. */
function keysOn(master: ClusterNode, count: number, label: string): string[] {
  const keys: string[] = [];
  while (keys.length < count) {
    const key = `cf:${label}:${fresh++}`;
    const slot = keySlot(key);
    if (master.slots.some(([from, to]) => from <= slot && slot <= to)) keys.push(key);
  }
  return keys;
}

const address = (server: RedisServer) => `127.0.0.1:${server.port}`;

async function answer(subject: Subject, key: string): Promise<Answered> {
  const startedAt = performance.now();
  let answer: Answer;
  try {
    const result = await subject.store.hit(key, LIMIT, 60, undefined);
    if (result.allowed) answer = result.count === 0 && result.oldest === null ? 'policy-allowed' : 'redis-allowed';
    else answer = 'redis-denied';
  } catch (error) {
    answer = error instanceof CacheUnavailableException ? 'policy-503' : `error: ${String(error)}`;
  }
  return { key, answer, at: startedAt, ms: performance.now() - startedAt };
}

/** One hit on each of a subject's keys every {@link TICK_MS}, until `stop` says so; every answer. */
async function drive(keysOf: (subject: Subject) => string[], stop: () => boolean): Promise<Map<Subject, Answered[]>> {
  const pending = new Map(subjects.map((s) => [s, [] as Array<Promise<Answered>>]));
  while (!stop()) {
    for (const subject of subjects) for (const key of keysOf(subject)) pending.get(subject)?.push(answer(subject, key));
    await new Promise((resolve) => setTimeout(resolve, TICK_MS));
  }
  const answered = new Map<Subject, Answered[]>();
  for (const [subject, promises] of pending) answered.set(subject, await Promise.all(promises));
  return answered;
}

/** Per subject: how its hits on `keys` were answered, and the longest wait. */
function summary(answers: readonly Answered[], keys: readonly string[]) {
  const mine = answers.filter((a) => keys.includes(a.key));
  const answersByKind: Record<string, number> = {};
  for (const a of mine) answersByKind[a.answer] = (answersByKind[a.answer] ?? 0) + 1;
  const admitted = keys.map((key) => mine.filter((a) => a.key === key && a.answer === 'redis-allowed').length);
  return { answers: answersByKind, admitted, maxMs: Math.round(Math.max(...mine.map((a) => a.ms))) };
}

const policyAnswer = (policy: Policy) => (policy === 'allow' ? 'policy-allowed' : 'policy-503');

/** Hits `LIMIT + 5` times a fresh key of `master`: by Redis, exactly `LIMIT` admitted. */
async function exactOn(subject: Subject, master: ClusterNode): Promise<Record<string, number>> {
  const [key] = keysOn(master, 1, 'exact');
  const answers = await Promise.all(Array.from({ length: LIMIT + 5 }, () => answer(subject, key)));
  return summary(answers, [key]).answers;
}

const exactly = { 'redis-allowed': LIMIT, 'redis-denied': 5 };

it('a frozen master costs only its own keys: the others exact and fast, a warning each way, nothing late', async () => {
  const [frozen, ...healthy] = masters;
  const healthyKeys = new Map(subjects.map((s) => [s, healthy.flatMap((m) => keysOn(m, 1, 'healthy'))]));
  const frozenKeys = new Map(subjects.map((s) => [s, keysOn(frozen, 2, 'frozen')]));
  frozen.server.freeze();
  const frozenAt = performance.now();
  const during = await drive(
    (s) => [...(healthyKeys.get(s) ?? []), ...(frozenKeys.get(s) ?? [])],
    () => performance.now() - frozenAt > 2500,
  );
  frozen.server.thaw();

  const node = address(frozen.server);
  for (const subject of subjects) {
    const answers = during.get(subject) ?? [];
    const onHealthy = summary(answers, healthyKeys.get(subject) ?? []);
    const onFrozen = summary(answers, frozenKeys.get(subject) ?? []);
    report(`freeze, ${subject.name}`, { onHealthy, onFrozen });
    // Decided by Redis, exactly at the limit, each within the deadline and a little.
    expect({
      subject: subject.name,
      admitted: onHealthy.admitted,
      policy: onHealthy.answers[policyAnswer(subject.policy)],
    }).toEqual({
      subject: subject.name,
      admitted: onHealthy.admitted.map(() => LIMIT),
      policy: undefined,
    });
    expect(Object.keys(onHealthy.answers).sort()).toEqual(['redis-allowed', 'redis-denied']);
    expect(onHealthy.maxMs).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    // The frozen master's keys: the policy, within the deadline.
    expect(Object.keys(onFrozen.answers)).toEqual([policyAnswer(subject.policy)]);
    expect(onFrozen.maxMs).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    expect(subject.warnings).toHaveLength(1);
    expect(subject.warnings[0]).toContain(
      `'${subject.name}' node ${node} is unavailable (no answer within ${TIMEOUT_MS} ms)`,
    );
  }

  // Once SIGCONT is sent, the held batches come back refused as late, and a quiet second ends the outage.
  const recoveryKeys = new Map(subjects.map((s) => [s, keysOn(frozen, 1, 'recovery')]));
  const thawedAt = performance.now();
  await drive(
    (s) => recoveryKeys.get(s) ?? [],
    () => subjects.every((s) => s.warnings.length >= 2) || performance.now() - thawedAt > 5000,
  );
  report('freeze, recovered after SIGCONT in ms', Math.round(performance.now() - thawedAt));
  for (const subject of subjects) {
    expect(subject.warnings.slice(1)).toEqual([
      `Throttle cache '${subject.name}' node ${node} is available again; throttling resumed.`,
    ]);
    expect(subject.events).toEqual([`down ${node}`, `up ${node}`]);
    // Nothing answered during the freeze was applied when the master woke.
    const applied = await Promise.all(
      (frozenKeys.get(subject) ?? []).map((key) => frozen.server.command('EXISTS', key)),
    );
    expect(applied).toEqual([0, 0]);
    expect(await exactOn(subject, frozen)).toEqual(exactly);
  }
}, 20_000);

it('a killed master costs only its own keys until its replica is promoted, then they are exact again', async () => {
  const [, killed, ...rest] = masters;
  const healthy = [masters[0], ...rest];
  for (const subject of subjects) subject.warnings.length = 0;
  for (const subject of subjects) subject.events.length = 0;
  await cluster.setNodeTimeout(1000); // a quick failover
  const healthyKeys = new Map(subjects.map((s) => [s, healthy.flatMap((m) => keysOn(m, 1, 'healthy'))]));
  const killedKeys = new Map(subjects.map((s) => [s, keysOn(killed, 2, 'killed')]));
  await killed.server.stop('SIGKILL');
  const killedAt = performance.now();
  // Until every store has its killed master's keys decided by Redis again (the replica promoted), and 2 s at least.
  let decidedAgain = new Set<Subject>();
  const run = drive(
    (s) => [...(healthyKeys.get(s) ?? []), ...(killedKeys.get(s) ?? [])],
    () =>
      (decidedAgain.size === subjects.length && performance.now() - killedAt > 2000) ||
      performance.now() - killedAt > 15_000,
  );
  const probe = setInterval(() => {
    decidedAgain = new Set(subjects.filter((s) => s.warnings.some((w) => w.includes('serves no slot'))));
  }, 20);
  const during = await run.finally(() => clearInterval(probe));
  report('kill, replica took over for every store after ms', Math.round(performance.now() - killedAt));

  const node = address(killed.server);
  const promoted = await cluster.masterOf(killed.slots[0][0]);
  expect(promoted).toBeDefined();
  expect(promoted).not.toBe(killed.server);
  for (const subject of subjects) {
    const answers = during.get(subject) ?? [];
    const onHealthy = summary(answers, healthyKeys.get(subject) ?? []);
    const onKilled = summary(answers, killedKeys.get(subject) ?? []);
    report(`kill, ${subject.name}`, { onHealthy, onKilled });
    expect({ subject: subject.name, admitted: onHealthy.admitted }).toEqual({
      subject: subject.name,
      admitted: onHealthy.admitted.map(() => LIMIT),
    });
    expect(Object.keys(onHealthy.answers).sort()).toEqual(['redis-allowed', 'redis-denied']);
    expect(onHealthy.maxMs).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    // The killed master's keys: the policy (until the promotion), then Redis; each within the deadline.
    const byRedis = answers.filter((a) => killedKeys.get(subject)?.includes(a.key) && a.answer.startsWith('redis-'));
    expect(byRedis.length).toBeGreaterThan(0);
    report(`kill, ${subject.name}, first decided by Redis again after ms`, Math.round(byRedis[0].at - killedAt));
    const kinds = [policyAnswer(subject.policy), 'redis-allowed', 'redis-denied'];
    expect(Object.keys(onKilled.answers).filter((a) => !kinds.includes(a))).toEqual([]);
    expect(onKilled.maxMs).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
    expect(subject.warnings).toHaveLength(2);
    expect(subject.warnings[0]).toContain(`'${subject.name}' node ${node} is unavailable`);
    expect(subject.warnings[1]).toBe(
      `Throttle cache '${subject.name}' node ${node} serves no slot any more (failed over or resharded); ` +
        'its keys are decided by the masters that took them over.',
    );
    expect(subject.events).toEqual([`down ${node}`, `up ${node}`]);
    expect(await exactOn(subject, killed)).toEqual(exactly);
  }
}, 30_000);

/** Measurements, printed when CLUSTER_FAULTS_REPORT is set (the numbers of docs/faults.md). */
function report(what: string, value: unknown): void {
  if (process.env.CLUSTER_FAULTS_REPORT !== undefined) process.stdout.write(`${what}: ${JSON.stringify(value)}\n`);
}
