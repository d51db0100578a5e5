/**
 * The GraphQL alias attack through a real Nest app (Apollo on Express) on a
 * redis-server of the test's own (issue 24, item 4): one address sends
 * requests of a thousand aliased, throttled fields at once while other
 * addresses make ordinary requests. The attacker gets at most its limit,
 * the fields refused beyond what it may queue are THROTTLED errors (not
 * let through by `onCacheError: 'allow'`), no outage is logged, and every
 * other address is decided exactly. Sized for a busy CI machine (each field
 * costs GraphQL about a millisecond there), which is too small for the
 * store before its queue was bounded to miss a deadline: the attack that
 * made it declare an outage, tens of thousands of hits at once, is
 * test/redis/alias-attack.e2e-spec.ts. This one checks the whole path: the
 * refusals reach the client as THROTTLED errors.
 */
import { Redis } from 'ioredis';
import { CapturingLogger, startApp, type TestApp } from '../helpers/http-app';
import { gql, graphqlApp, type GraphQLResponse } from '../helpers/contexts/graphql-app';
import { RedisServer } from '../helpers/redis-server';

const LIMIT = 100;
const ALIASES = 1000;

let server: RedisServer;
let client: Redis;
let t: TestApp;
const logger = new CapturingLogger();

beforeAll(async () => {
  server = await RedisServer.start();
  client = new Redis({ host: '127.0.0.1', port: server.port });
  client.on('error', () => undefined);
  const rates = { anon: `${LIMIT}/hour`, user: '1/min', views: '1/min', search: '1/min' };
  t = await startApp('express', graphqlApp('express', { cache: client, numProxies: 1, rates }), logger);
}, 60_000);
afterAll(async () => {
  await t?.close();
  client?.disconnect();
  await server?.dispose();
});

const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: article { id }`).join(' ')} }`;
const from = (address: string, n: number) => gql(t.url, aliased(n), { 'x-forwarded-for': address });
const resolved = (response: GraphQLResponse) =>
  Object.values(response.data ?? {}).filter((field) => field !== null).length;

it('two requests of 1 000 aliased fields from one address: at most its limit; others exact; no outage', async () => {
  const attack = [from('203.0.113.66', ALIASES), from('203.0.113.66', ALIASES)];
  const others = Array.from({ length: 5 }, (_, i) => from(`198.51.100.${i + 1}`, LIMIT + 5));
  const answers = await Promise.all(attack);
  // First: a policy answer (an outage) would explain a count over the limit, and says why it happened.
  expect(logger.warnings).toEqual([]);
  expect(answers.reduce((n, answer) => n + resolved(answer), 0)).toBeLessThanOrEqual(LIMIT);
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(new Set(answer.errors.map((e) => e.extensions?.code))).toEqual(new Set(['THROTTLED']));
  }
  for (const other of await Promise.all(others)) expect(resolved(other)).toBe(LIMIT);
  expect(logger.warnings).toEqual([]);
  expect(logger.errors).toEqual([]);
}, 60_000);
