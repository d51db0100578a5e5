/**
 * GraphQL (issue 11, item 2): the decorators on resolver classes, queries,
 * mutations and field resolvers, identity from the HTTP request behind the
 * operation, and a throttled operation as a GraphQL error with DRF's detail,
 * `extensions.code`/`retryAfter`, and `Retry-After` on the HTTP response.
 * Apollo on Express, Mercurius on Fastify, real HTTP with fetch.
 */
import { jest } from '@jest/globals';
import { SimpleRateThrottle } from 'restflow-throttle';
import { CapturingLogger, FakeClock, PLATFORMS, startApp, type TestApp } from '../../helpers/http-app';
import { gql, graphqlApp, type GraphQLResponse } from '../../helpers/contexts/graphql-app';

const detail = (seconds: number) =>
  `Request was throttled. Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`;

/** The error of a throttled field, as a client sees it. */
function expectThrottled(response: GraphQLResponse, path: string[], seconds: number): void {
  expect(
    response.errors.map((e) => ({
      message: e.message,
      path: e.path,
      code: e.extensions?.code,
      retryAfter: e.extensions?.retryAfter,
    })),
  ).toEqual([{ message: detail(seconds), path, code: 'THROTTLED', retryAfter: seconds }]);
  expect(response.retryAfter).toBe(String(seconds));
}

describe.each(PLATFORMS)('GraphQL on %s', (platform) => {
  const clock = new FakeClock();
  let t: TestApp;
  beforeAll(() => {
    jest.spyOn(SimpleRateThrottle.prototype, 'timer').mockImplementation(() => clock.now);
  });
  afterAll(() => jest.restoreAllMocks());
  afterEach(() => t.close());

  it('throttles a query by the resolver class decorator, with the detail, the code, the wait and Retry-After, logging no error', async () => {
    const logger = new CapturingLogger();
    t = await startApp(platform, graphqlApp(platform), logger);
    const answers: GraphQLResponse[] = [];
    for (let i = 0; i < 4; i++) answers.push(await gql(t.url, '{ article { id title } }'));
    expect(answers.slice(0, 3).map((a) => [a.data, a.errors, a.retryAfter])).toEqual(
      Array(3).fill([{ article: { id: '1', title: 'Hello' } }, [], null]),
    );
    expect(answers[3].data).toEqual({ article: null });
    expectThrottled(answers[3], ['article'], 60);
    clock.advance(20);
    expectThrottled(await gql(t.url, '{ article { id } }'), ['article'], 40);
    clock.advance(41);
    expect((await gql(t.url, '{ article { id } }')).errors).toEqual([]);
    expect(logger.errors).toEqual([]);
  });

  it('a mutation with its own @Throttle keys on the user an auth guard set on the HTTP request', async () => {
    t = await startApp(platform, graphqlApp(platform));
    const like = (user: string) => gql(t.url, 'mutation { like { id } }', { authorization: `Token ${user}` });
    const alice = [await like('alice'), await like('alice'), await like('alice')];
    expect(alice.map((r) => r.errors.length)).toEqual([0, 0, 1]);
    expectThrottled(alice[2], ['like'], 60);
    expect((await like('bob')).errors).toEqual([]);
  });

  it('throttles a field resolver by its own decorator, leaving the rest of the operation', async () => {
    t = await startApp(platform, graphqlApp(platform));
    const first = await gql(t.url, '{ article { title views } }');
    expect([first.data, first.errors]).toEqual([{ article: { title: 'Hello', views: 42 } }, []]);
    const second = await gql(t.url, '{ article { title views } }');
    expectThrottled(second, ['article', 'views'], 60);
    expect(second.data).toEqual({ article: { title: 'Hello', views: null } });
  });

  it('@SkipThrottle on a query opts it out of the class throttles', async () => {
    t = await startApp(platform, graphqlApp(platform));
    const answers: GraphQLResponse[] = [];
    for (let i = 0; i < 6; i++) answers.push(await gql(t.url, '{ health }'));
    expect(answers.map((a) => [a.data, a.errors.length])).toEqual(Array(6).fill([{ health: 'ok' }, 0]));
  });

  it('@ThrottleScope: queries that share a scope share one bucket per client', async () => {
    t = await startApp(platform, graphqlApp(platform));
    expect((await gql(t.url, '{ search }')).errors).toEqual([]);
    expect((await gql(t.url, '{ suggest }')).errors).toEqual([]);
    expectThrottled(await gql(t.url, '{ search }'), ['search'], 60);
  });

  it('identity is the HTTP request behind the operation: numProxies applies to its X-Forwarded-For', async () => {
    t = await startApp(platform, graphqlApp(platform, { numProxies: 1 }));
    const from = (ip: string) => gql(t.url, '{ article { id } }', { 'x-forwarded-for': ip });
    for (let i = 0; i < 3; i++) expect((await from('203.0.113.7')).errors).toEqual([]);
    expectThrottled(await from('203.0.113.7'), ['article'], 60);
    expect((await from('198.51.100.2')).errors).toEqual([]);
  });

  it('each throttled root field is a handler: one operation with two of them counts two hits', async () => {
    t = await startApp(platform, graphqlApp(platform));
    const both = await gql(t.url, '{ a: article { id } b: article { id } }');
    expect(both.errors).toEqual([]);
    const again = await gql(t.url, '{ a: article { id } b: article { id } }');
    expect(again.errors.map((e) => e.path)).toEqual([['b']]);
    expect(again.data).toEqual({ a: { id: '1' }, b: null });
  });

  it('rate-limit headers (headers option) are set on the HTTP response of an allowed operation', async () => {
    t = await startApp(platform, graphqlApp(platform, { headers: 'legacy' }));
    const response = await gql(t.url, '{ article { id } }');
    expect(response.errors).toEqual([]);
    expect([response.headers.get('x-ratelimit-limit'), response.headers.get('x-ratelimit-remaining')]).toEqual([
      '3',
      '2',
    ]);
  });
});
