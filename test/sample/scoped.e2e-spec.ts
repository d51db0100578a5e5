/**
 * Docs: ScopedRateThrottle with `UploadView` (scope `uploads`, 10/min) and
 * `DownloadView` (scope `downloads`, 100/hour), sample/files.
 */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('UploadView and DownloadView on %s', (platform) => {
  const t = useSample(platform);

  it('gives uploads their own rate, 10 a minute, without touching the downloads bucket', async () => {
    expect(await statuses(t, 10, '/uploads', { method: 'POST' })).toEqual(Array(10).fill(201));
    expectThrottled(await t.request('/uploads', { method: 'POST' }), 60);
    expect((await t.request('/downloads')).status).toBe(200);
  });

  it('gives downloads 100 an hour, one bucket for every route of the scope', async () => {
    expect(await statuses(t, 50, '/downloads')).toEqual(Array(50).fill(200));
    expect(await statuses(t, 50, '/downloads/report.pdf')).toEqual(Array(50).fill(200));
    expectThrottled(await t.request('/downloads/data.csv'), 3600);
    expectThrottled(await t.request('/downloads'), 3600);
    expect((await t.request('/uploads', { method: 'POST' })).status).toBe(201);
  });

  it('counts a signed-in user by user id, apart from the address they share with others', async () => {
    expect(await statuses(t, 10, '/uploads', { method: 'POST' })).toEqual(Array(10).fill(201));
    expect((await t.request('/uploads', { method: 'POST' })).status).toBe(429);
    expect((await t.request('/uploads', signedIn('alice', 'POST'))).status).toBe(201);
  });
});
