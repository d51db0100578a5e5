/** Docs: custom throttles, `ApiKeyRateThrottle` (key by `X-API-Key`), sample/custom. Rate 5/min. */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, statuses, useSample } from '../helpers/sample-app';

const withKey = (key: string) => ({ headers: { 'x-api-key': key } });

describe.each(PLATFORMS)('ApiKeyRateThrottle on %s', (platform) => {
  const t = useSample(platform);

  it('gives each API key 5 requests a minute, wherever they come from', async () => {
    expect(await statuses(t, 5, '/partner/feed', withKey('partner-1'))).toEqual(Array(5).fill(200));
    expectThrottled(await t.request('/partner/feed', withKey('partner-1')), 60);
    expect((await t.request('/partner/feed', withKey('partner-2'))).status).toBe(200);
  });

  it('treats a long key like any other (it is hashed into the cache key)', async () => {
    const longKey = 'k'.repeat(500);
    expect(await statuses(t, 5, '/partner/feed', withKey(longKey))).toEqual(Array(5).fill(200));
    expectThrottled(await t.request('/partner/feed', withKey(longKey)), 60);
    expect((await t.request('/partner/feed', withKey('k'.repeat(499)))).status).toBe(200);
  });

  it('does not throttle requests without a key', async () => {
    expect(await statuses(t, 12, '/partner/feed')).toEqual(Array(12).fill(200));
  });
});
