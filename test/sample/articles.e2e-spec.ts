/**
 * Docs: AnonRateThrottle + UserRateThrottle on `ArticleView`
 * (sample/articles). Sample rates: anon 3/min, user 10/min.
 */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('ArticleView on %s', (platform) => {
  const t = useSample(platform);

  it('lets an anonymous client make 3 requests a minute; the 4th is a 429 with Retry-After 60', async () => {
    expect(await statuses(t, 3, '/articles')).toEqual([200, 200, 200]);
    expectThrottled(await t.request('/articles'), 60);
  });

  it('slides the window: Retry-After counts from the oldest request, which frees its slot when it expires', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await t.request('/articles')).status).toBe(200);
      t.clock.advance(10);
    }
    // Requests at t=0, 10, 20; now t=30: the first one expires at t=60.
    expectThrottled(await t.request('/articles'), 30);
    t.clock.advance(30.5);
    expect((await t.request('/articles')).status).toBe(200);
    // Requests at 10, 20, 60.5; at 60.5 the next slot frees at 70.
    expectThrottled(await t.request('/articles'), 10);
  });

  it('does not count signed-in users against the anonymous quota: they get the user rate, per user', async () => {
    expect(await statuses(t, 4, '/articles')).toEqual([200, 200, 200, 429]);
    // Same address, but authenticated: the anon throttle skips alice, the user throttle counts her id.
    expect(await statuses(t, 10, '/articles', signedIn('alice'))).toEqual(Array(10).fill(200));
    expectThrottled(await t.request('/articles', signedIn('alice')), 60);
    expect((await t.request('/articles', signedIn('bob'))).status).toBe(200);
  });

  it('refuses an unknown token with 401 before any throttle counts it', async () => {
    const response = await t.request('/articles', { headers: { authorization: 'Token nope' } });
    expect({ status: response.status, body: response.body }).toEqual({
      status: 401,
      body: { detail: 'Invalid token.' },
    });
    expect(await statuses(t, 3, '/articles')).toEqual([200, 200, 200]);
  });
});
