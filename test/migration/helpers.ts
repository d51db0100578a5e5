/**
 * What the ports of @nestjs/throttler's tests share: the peer's assertions
 * read as ours (rate-limit headers by lower-case name, "no header at all"),
 * and a started app with a hand-moved clock.
 */
import type { ModuleMetadata } from '@nestjs/common';
import { ManualClock } from 'restflow-throttle';
import { type HttpResponse, type Platform, startApp, type TestApp } from '../helpers/http-app';

export { PLATFORMS, type Platform, type TestApp } from '../helpers/http-app';

/** Where every ported test's clock starts, in seconds: any fixed time will do. */
export const T0 = 1_000_000;

/** The peer's `/^\d+$/` for `X-RateLimit-Reset` and `Retry-After`. */
export const DIGITS = /^\d+$/;

/** A response as the peer's tests look at it: status, parsed body, and its rate-limit headers. */
export interface Answer {
  status: number;
  body: unknown;
  /** `x-ratelimit-*`, `retry-after*` and `ratelimit*` headers, by lower-case name. */
  headers: Record<string, string>;
}

/** The rate-limit headers of a response (`x-ratelimit-*`, `retry-after*`, `ratelimit*`), by lower-case name. */
export function rateLimitHeaders(response: HttpResponse): Record<string, string> {
  const fields: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (/^(x-ratelimit|retry-after|ratelimit)/.test(name)) fields[name] = value;
  });
  return fields;
}

/** An app of the port: started on `platform`, with its clock and a `send()` that answers an {@link Answer}. */
export interface PortedApp {
  readonly t: TestApp;
  readonly clock: ManualClock;
  send(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<Answer>;
  close(): Promise<void>;
}

/**
 * Starts `metadata` on `platform`. `build(clock)` makes the module's
 * metadata with the clock the test moves (the `clock` option of
 * `RestflowThrottleModule.forRoot`), so no test sleeps.
 */
export async function startPorted(
  platform: Platform,
  build: (clock: ManualClock) => ModuleMetadata,
): Promise<PortedApp> {
  const clock = new ManualClock(T0);
  const t = await startApp(platform, build(clock));
  return {
    t,
    clock,
    async send(path, init) {
      const response = await t.request(path, init);
      return { status: response.status, body: response.body, headers: rateLimitHeaders(response) };
    },
    close: () => t.close(),
  };
}

/** The statuses of `count` requests to `path`, one after the other. */
export async function statuses(t: TestApp, path: string, count: number, init?: Parameters<TestApp['request']>[1]) {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await t.request(path, init)).status);
  return seen;
}
