/**
 * Docs: a SimpleRateThrottle subclass, `TenantRateThrottle` (key
 * `request.user.tenantId`, none -> skipped), sample/tenants. Rate 5/min.
 */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('TenantRateThrottle on %s', (platform) => {
  const t = useSample(platform);

  it('shares one quota among the users of a tenant', async () => {
    expect(await statuses(t, 3, '/tenant/projects', signedIn('alice'))).toEqual([200, 200, 200]);
    expect(await statuses(t, 2, '/tenant/projects', signedIn('bob'))).toEqual([200, 200]);
    expectThrottled(await t.request('/tenant/projects', signedIn('bob')), 60);
    expectThrottled(await t.request('/tenant/projects', signedIn('alice')), 60);
  });

  it('keeps tenants apart', async () => {
    expect(await statuses(t, 6, '/tenant/projects', signedIn('alice'))).toEqual([200, 200, 200, 200, 200, 429]);
    const carol = await t.request('/tenant/projects', signedIn('carol'));
    expect({ status: carol.status, body: carol.body }).toEqual({
      status: 200,
      body: { tenant: 'globex', projects: ['website', 'mobile-app'] },
    });
  });

  it('skips requests without a tenant: a user outside any tenant, and anonymous clients', async () => {
    expect(await statuses(t, 12, '/tenant/projects', signedIn('dave'))).toEqual(Array(12).fill(200));
    expect(await statuses(t, 12, '/tenant/projects')).toEqual(Array(12).fill(200));
  });
});
