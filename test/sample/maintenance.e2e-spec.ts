/**
 * Docs: async hooks, `MaintenanceThrottle` (async allow hook, wait 60),
 * stacked with UserRateThrottle on `POST /orders`, sample/async-hooks.
 */
import { createSampleApp } from '../../sample/app.factory';
import { MaintenanceWindow } from '../../sample/async-hooks/maintenance-window.service';
import { settingsFromEnv } from '../../sample/config/sample-settings';
import { PLATFORMS, serve } from '../helpers/http-app';
import { expectThrottled, signedIn, statuses, useSample } from '../helpers/sample-app';

describe.each(PLATFORMS)('MaintenanceThrottle on %s', (platform) => {
  const t = useSample(platform);
  let maintenance: MaintenanceWindow;
  beforeAll(() => {
    maintenance = t.app.get(MaintenanceWindow);
  });
  beforeEach(() => maintenance.close());

  it('refuses every request while a maintenance window is open, with Retry-After 60', async () => {
    expect((await t.request('/orders', signedIn('alice', 'POST'))).status).toBe(201);
    maintenance.open();
    expectThrottled(await t.request('/orders', signedIn('alice', 'POST')), 60);
    expectThrottled(await t.request('/orders', { method: 'POST' }), 60);
    maintenance.close();
    expect((await t.request('/orders', signedIn('alice', 'POST'))).status).toBe(201);
  });

  it('answers with the longest wait when both throttles deny', async () => {
    expect(await statuses(t, 10, '/orders', signedIn('alice', 'POST'))).toEqual(Array(10).fill(201));
    t.clock.advance(50);
    // The user throttle alone: its slot frees in 10 s.
    expectThrottled(await t.request('/orders', signedIn('alice', 'POST')), 10);
    maintenance.open();
    expectThrottled(await t.request('/orders', signedIn('alice', 'POST')), 60);
  });

  it('starts with the window open when the app is started with MAINTENANCE=on', async () => {
    // Its own app, on the real clock: the shared fake clock belongs to `t`.
    const other = await serve(await createSampleApp({ ...settingsFromEnv({ MAINTENANCE: 'on' }), platform }, false));
    try {
      expectThrottled(await other.request('/orders', { method: 'POST' }), 60);
    } finally {
      await other.close();
    }
    expect((await t.request('/orders', { method: 'POST' })).status).toBe(201);
  });
});
