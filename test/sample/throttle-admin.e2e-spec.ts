/**
 * The sample's admin routes (sample/admin/, docs/admin.md): support staff read a client's state, reset it and
 * block it through ThrottleAdmin; everyone else is refused by DRF's IsAdminUser.
 */
import { PLATFORMS } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

const staff = (method = 'GET') => ({ method, headers: { authorization: 'Token staff-token' } });

describe.each(PLATFORMS)('sample admin routes on %s', (platform) => {
  const t = useSample(platform);

  it('are for staff only: 401 anonymous, 403 for a user who is not staff', async () => {
    const path = '/admin/throttles/anon?address=127.0.0.1';
    expect((await t.request(path)).status).toBe(401);
    const forbidden = await t.request(path, signedIn('alice'));
    expect([forbidden.status, forbidden.body]).toEqual([
      403,
      { detail: 'You do not have permission to perform this action.' },
    ]);
    expect((await t.request(path, staff())).status).toBe(200);
  });

  it("GET reads an anonymous client's state; DELETE lets it back in", async () => {
    expect(await statuses(t, 4, '/articles')).toEqual([200, 200, 200, 429]);
    t.clock.advance(15);
    const state = await t.request('/admin/throttles/anon?address=127.0.0.1', staff());
    expect(state.body).toMatchObject({
      throttle: 'AnonRateThrottle',
      key: 'throttle_anon_ip:127.0.0.1',
      limit: 3,
      durationSec: 60,
      used: 3,
      remaining: 0,
      retryAfter: 45,
    });
    const reset = await t.request('/admin/throttles/anon?address=127.0.0.1', staff('DELETE'));
    expect([reset.status, reset.body]).toEqual([200, [expect.objectContaining({ used: 0, remaining: 3 })]]);
    expect(await statuses(t, 4, '/articles')).toEqual([200, 200, 200, 429]);
  });

  it('POST .../block refuses a user for the seconds given, with that Retry-After', async () => {
    const blocked = await t.request('/admin/throttles/user/block?user=1&seconds=120', staff('POST'));
    expect([blocked.status, blocked.body]).toEqual([
      200,
      [expect.objectContaining({ key: 'throttle_user_user:1', retryAfter: 120, remaining: 0 })],
    ]);
    expectThrottled(await t.request('/articles', signedIn('alice')), 120);
    expect(await statuses(t, 1, '/articles', signedIn('bob'))).toEqual([200]);
    t.clock.advance(120);
    expect(await statuses(t, 1, '/articles', signedIn('alice'))).toEqual([200]);
  });

  it("reads a plan throttle at the user's own rate (its getRequestRate(), asked for that user)", async () => {
    const alice = await t.request('/admin/throttles/plan?user=1', staff());
    expect(alice.body).toMatchObject({ throttle: 'PlanRateThrottle', limit: 10000, durationSec: 3600 });
    const bob = await t.request('/admin/throttles/plan?user=2', staff());
    expect(bob.body).toMatchObject({ limit: 100 });
  });

  it('answers 404 for a scope or a client it does not know, 400 for a bad question', async () => {
    const unknown = await t.request('/admin/throttles/nope?user=1', staff());
    expect([unknown.status, unknown.body]).toEqual([
      404,
      expect.objectContaining({ code: 'RFT_ADMIN_UNKNOWN_THROTTLE' }),
    ]);
    // AnonRateThrottle does not count signed-in users.
    expect((await t.request('/admin/throttles/anon?user=1', staff())).status).toBe(404);
    const noClient = await t.request('/admin/throttles/user', staff());
    expect([noClient.status, noClient.body]).toEqual([
      400,
      expect.objectContaining({ code: 'RFT_ADMIN_INVALID_ARGUMENT' }),
    ]);
    expect((await t.request('/admin/throttles/user/block?user=1', staff('POST'))).status).toBe(400);
  });
});
