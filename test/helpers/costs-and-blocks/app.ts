/**
 * The app the costs-and-blocks scenarios run on (blockDuration, request costs, countRefused): throttles keyed on
 * an `x-client` header, so each test has clients of its own, a hand-moved clock, and the module's cache given by
 * the suite (memory, get/set, Redis). Rate-limit headers are on (`'legacy'`), to check that they tell the truth.
 */
import type { ModuleMetadata } from '@nestjs/common';
import {
  ManualClock,
  RestflowThrottleModule,
  type RestflowThrottleOptions,
  type ThrottleCacheLike,
} from 'restflow-throttle';
import { type Platform, startApp, type TestApp } from '../http-app';

/** A response as the scenarios read it. */
export interface Answer {
  status: number;
  body: unknown;
  /** `retry-after*` and `x-ratelimit-*` headers, by lower-case name. */
  headers: Record<string, string>;
}

/** A started app and how the scenarios talk to it. */
export interface WeightedApp {
  readonly t: TestApp;
  readonly clock: ManualClock;
  /** A request from `client` (its `x-client` header); `body` is sent as JSON. */
  send(method: 'GET' | 'POST', path: string, client: string, body?: unknown): Promise<Answer>;
  /** The statuses of requests sent one after the other. */
  statuses(count: number, method: 'GET' | 'POST', path: string, client: string, body?: unknown): Promise<number[]>;
  close(): Promise<void>;
}

/** Where the clock starts, in seconds (a real time, so that Redis keys expire as they would). */
const START = Math.floor(Date.now() / 1000);

let clients = 0;

/** A client name no other test uses, so one app serves every test of a suite. */
export function newClient(tag: string): string {
  clients += 1;
  return `${tag}-${clients}-${process.pid}`;
}

/**
 * Starts `metadata` (controllers, providers) with the module given `options`, the suite's cache (`undefined`:
 * the default memory store), legacy headers and a {@link ManualClock}.
 */
export async function startWeightedApp(
  platform: Platform,
  cache: ThrottleCacheLike | undefined,
  options: RestflowThrottleOptions,
  metadata: Omit<ModuleMetadata, 'imports'>,
): Promise<WeightedApp> {
  const clock = new ManualClock(START);
  const t = await startApp(platform, {
    ...metadata,
    imports: [
      RestflowThrottleModule.forRoot({
        headers: 'legacy',
        clock: clock.read,
        ...(cache === undefined ? {} : { cache }),
        ...options,
      }),
    ],
  });
  const send = async (method: 'GET' | 'POST', path: string, client: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { 'x-client': client };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(t.url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    const fields: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (/^(x-ratelimit|retry-after)/.test(name)) fields[name] = value;
    });
    return { status: response.status, body: parsed, headers: fields };
  };
  return {
    t,
    clock,
    send,
    async statuses(count, method, path, client, body) {
      const seen: number[] = [];
      for (let i = 0; i < count; i++) seen.push((await send(method, path, client, body)).status);
      return seen;
    },
    close: () => t.close(),
  };
}
