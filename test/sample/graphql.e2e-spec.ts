/**
 * The sample's GraphQL resolver (sample/graphql), run as `npm start` runs
 * it: Apollo on Express, Mercurius on Fastify, the sample's token auth and
 * rates (anon 3/min, user 10/min; likes 2/min per user).
 */
import { PLATFORMS } from '../helpers/http-app';
import { useSample } from '../helpers/sample-app';
import { gql, type GraphQLResponse } from '../helpers/contexts/graphql-app';

const alice = { authorization: 'Token alice-token' };

/** The GraphQL error of a throttled field, and Retry-After on the response. */
function throttledAt(response: GraphQLResponse): unknown {
  return {
    retryAfter: response.retryAfter,
    errors: response.errors.map((e) => ({
      message: e.message,
      path: e.path,
      code: e.extensions?.code,
      retryAfter: e.extensions?.retryAfter,
    })),
  };
}
const throttled = (path: string[], seconds: number) => ({
  retryAfter: String(seconds),
  errors: [
    {
      message: `Request was throttled. Expected available in ${seconds} seconds.`,
      path,
      code: 'THROTTLED',
      retryAfter: seconds,
    },
  ],
});

describe.each(PLATFORMS)('the sample GraphQL API on %s', (platform) => {
  const t = useSample(platform);

  it('anonymous clients get 3 queries a minute; the 4th field is a THROTTLED error with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await gql(t.url, '{ articles { id title } }')).errors).toEqual([]);
    const fourth = await gql(t.url, '{ articles { id title } }');
    expect(throttledAt(fourth)).toEqual(throttled(['articles'], 60));
    t.clock.advance(60);
    expect((await gql(t.url, '{ article(id: 1) { title } }')).data).toEqual({
      article: { title: 'Throttling in DRF' },
    });
  });

  it('a field resolver with @SkipThrottle costs nothing, however many items the list has', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await gql(t.url, '{ articles { titleLength } }');
      expect([response.errors, response.data]).toEqual([[], { articles: [{ titleLength: 17 }, { titleLength: 20 }] }]);
    }
  });

  it('signed-in users are not counted as anonymous: they get the user rate', async () => {
    const answers = [];
    for (let i = 0; i < 11; i++) answers.push(await gql(t.url, '{ articles { id } }', alice));
    expect(answers.slice(0, 10).map((a) => a.errors.length)).toEqual(Array(10).fill(0));
    expect(throttledAt(answers[10])).toEqual(throttled(['articles'], 60));
  });

  it('likeArticle has its own throttle: 2 likes a minute per user', async () => {
    const like = () => gql(t.url, 'mutation { likeArticle(id: 2) { id } }', alice);
    expect([(await like()).errors, (await like()).errors]).toEqual([[], []]);
    expect(throttledAt(await like())).toEqual(throttled(['likeArticle'], 60));
    expect(
      (await gql(t.url, 'mutation { likeArticle(id: 2) { id } }', { authorization: 'Token bob-token' })).errors,
    ).toEqual([]);
  });

  it('an unknown token is refused before any throttle counts it', async () => {
    const refused = await gql(t.url, '{ articles { id } }', { authorization: 'Token nope' });
    expect(refused.errors.map((e) => [e.message, e.extensions?.code])).toEqual([['Invalid token.', 'UNAUTHENTICATED']]);
    for (let i = 0; i < 3; i++) expect((await gql(t.url, '{ articles { id } }')).errors).toEqual([]);
  });
});
