import { afterAll, beforeAll, beforeEach, expect, jest } from '@jest/globals';
import type { Server } from 'node:http';
import { RESTFLOW_THROTTLE_CACHE, SimpleRateThrottle } from 'restflow-throttle';
import { createSampleApp } from '../../sample/app.factory';
import type { SampleCaches } from '../../sample/cache';
import { SAMPLE_CACHES } from '../../sample/cache-backend/sample-caches.module';
import { settingsFromEnv, type SampleSettings } from '../../sample/config/sample-settings';
import { FakeClock, serve, type HttpResponse, type Platform, type TestApp } from './http-app';

/** The sample app on a free port, with a hand-moved clock. */
export interface SampleTestApp extends TestApp {
  /** Every rate throttle of the app reads this clock (seconds). */
  readonly clock: FakeClock;
  /** Empties the throttle caches, the default one and the `throttling` alias. */
  resetCaches(): Promise<void>;
}

/**
 * Starts the sample itself (`createSampleApp`, as `npm start` does) with the
 * in-memory caches, whatever the environment says. Every `SimpleRateThrottle`
 * reads the returned clock, so waits are exact and expiry needs no sleep.
 * One sample app at a time per test file: the clock is shared by the class.
 */
export async function startSample(platform: Platform, settings: Partial<SampleSettings> = {}): Promise<SampleTestApp> {
  const clock = new FakeClock(Date.now() / 1000);
  const timer = jest.spyOn(SimpleRateThrottle.prototype, 'timer').mockImplementation(() => clock.now);
  try {
    const app = await createSampleApp({ ...settingsFromEnv({}), ...settings, platform }, false);
    const served = await serve(app);
    const caches = app.get<SampleCaches>(SAMPLE_CACHES);
    return {
      ...served,
      clock,
      async resetCaches() {
        await (app.get(RESTFLOW_THROTTLE_CACHE) as { reset(): unknown }).reset();
        await caches.caches.throttling.reset();
      },
      async close() {
        // A client that went away mid-request can leave a half-open socket that would hold
        // app.close() until the keep-alive timeout (72 s on Fastify).
        (app.getHttpServer() as Server).closeAllConnections();
        await served.close();
        timer.mockRestore();
      },
    };
  } catch (error) {
    timer.mockRestore();
    throw error;
  }
}

/**
 * The usual setup of a sample test file, inside a `describe`: one sample app
 * for the block (started before, closed after) and empty caches before each
 * test, so no test depends on another's counters. The returned handle
 * reaches the current app.
 */
export function useSample(platform: Platform, settings: Partial<SampleSettings> = {}): SampleTestApp {
  let current: SampleTestApp | undefined;
  beforeAll(async () => {
    current = await startSample(platform, settings);
  });
  afterAll(() => current?.close());
  beforeEach(() => app().resetCaches());
  const app = (): SampleTestApp => {
    if (current === undefined)
      throw new Error('the sample app is started in beforeAll: use it inside a hook or a test');
    return current;
  };
  return {
    get app() {
      return app().app;
    },
    get url() {
      return app().url;
    },
    get clock() {
      return app().clock;
    },
    request: (path, init) => app().request(path, init),
    resetCaches: () => app().resetCaches(),
    close: () => app().close(),
  };
}

/** `Authorization: Token <name>-token`, the sample's token auth. */
export function signedIn(
  user: 'alice' | 'bob' | 'carol' | 'dave',
  method = 'GET',
): { method: string; headers: Record<string, string> } {
  return { method, headers: { authorization: `Token ${user}-token` } };
}

/** Sends `count` requests one after the other and returns their statuses. */
export async function statuses(
  t: TestApp,
  count: number,
  path: string,
  init?: Parameters<TestApp['request']>[1],
): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await t.request(path, init)).status);
  return result;
}

/** A DRF 429: status, `Retry-After` and the `detail` body that names the same wait. */
export function expectThrottled(response: HttpResponse, seconds: number): void {
  const unit = seconds === 1 ? 'second' : 'seconds';
  expect({ status: response.status, retryAfter: response.headers.get('retry-after'), body: response.body }).toEqual({
    status: 429,
    retryAfter: String(seconds),
    body: { detail: `Request was throttled. Expected available in ${seconds} ${unit}.` },
  });
}
