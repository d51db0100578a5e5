/**
 * Docs: per-action throttling, `ArticleViewSet` (list/destroy with their own
 * scopes through `ActionConfig`) and `ReportViewSet.export` (scope
 * `exports`), sample/viewsets. Rates: user 10/min, list 1000/hour,
 * destroy 20/hour, exports 5/min.
 */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('ArticleViewSet and ReportViewSet on %s', (platform) => {
  const t = useSample(platform);

  it('keeps the class UserRateThrottle on retrieve: the 11th in a minute is a 429', async () => {
    expect(await statuses(t, 10, '/viewsets/articles/1', signedIn('alice'))).toEqual(Array(10).fill(200));
    expectThrottled(await t.request('/viewsets/articles/1', signedIn('alice')), 60);
  });

  it('replaces it on list with ScopedRateThrottle and the list scope, which the user rate does not limit', async () => {
    expect(await statuses(t, 30, '/viewsets/articles', signedIn('alice'))).toEqual(Array(30).fill(200));
    // The user quota was not touched by list: retrieve still has its 10.
    expect(await statuses(t, 10, '/viewsets/articles/1', signedIn('alice'))).toEqual(Array(10).fill(200));
  });

  it('limits destroy to 20 an hour, counted before the handler runs (missing articles included)', async () => {
    const created = await t.request('/viewsets/articles', signedIn('carol', 'POST'));
    const { id } = created.body as { id: number };
    expect((await t.request(`/viewsets/articles/${id}`, signedIn('alice', 'DELETE'))).status).toBe(204);
    expect(await statuses(t, 19, `/viewsets/articles/${id}`, signedIn('alice', 'DELETE'))).toEqual(Array(19).fill(404));
    expectThrottled(await t.request('/viewsets/articles/1', signedIn('alice', 'DELETE')), 3600);
    // Another user, another bucket; and list is untouched.
    expect((await t.request(`/viewsets/articles/${id}`, signedIn('bob', 'DELETE'))).status).toBe(404);
    expect((await t.request('/viewsets/articles', signedIn('alice'))).status).toBe(200);
  });

  it('refuses anonymous deletes with 401 before the throttle: they never turn into 429s', async () => {
    const refused = await statuses(t, 25, '/viewsets/articles/1', { method: 'DELETE' });
    expect(refused).toEqual(Array(25).fill(401));
  });

  it('throttles the export action at 5 a minute, and not the unscoped list of reports', async () => {
    expect(await statuses(t, 5, '/viewsets/reports/export', { method: 'POST' })).toEqual(Array(5).fill(200));
    expectThrottled(await t.request('/viewsets/reports/export', { method: 'POST' }), 60);
    expect(await statuses(t, 20, '/viewsets/reports')).toEqual(Array(20).fill(200));
  });
});

// The rate arithmetic does not depend on the platform: the 1000 requests run once.
describe('ArticleViewSet.list on express', () => {
  const t = useSample('express');

  it('has the list scope rate: 1000 an hour', async () => {
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, () => t.request('/viewsets/articles', signedIn('alice'))),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    }
    expectThrottled(await t.request('/viewsets/articles', signedIn('alice')), 3600);
  });
});
