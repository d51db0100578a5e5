import 'reflect-metadata';
import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** A real Nest application on a real port, and a tiny HTTP client for it. */
export interface TestApp {
  app: INestApplication;
  url: string;
  request(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<HttpResponse>;
  close(): Promise<void>;
}

/** Builds the module, starts the app on 127.0.0.1 on a free port, on Express or Fastify. */
export async function startApp(
  platform: Platform,
  metadata: ModuleMetadata,
  logger: LoggerService | false = false,
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger })
      : moduleRef.createNestApplication({ logger });
  return serve(app);
}

/** Starts an application built elsewhere (e.g. the sample's factory) on 127.0.0.1 on a free port. */
export async function serve(app: INestApplication): Promise<TestApp> {
  await app.listen(0, '127.0.0.1');
  // fetch() keeps sockets alive for a little less than the server's 5 s (Node's default; Fastify already has 72 s),
  // by timers that may fire late on a loaded machine: a request then goes out on a socket the server is closing,
  // and fails with ECONNRESET (seen in a full run of the suite). The server closes idle sockets at app.close() anyway.
  const server = app.getHttpServer() as { keepAliveTimeout: number };
  server.keepAliveTimeout = Math.max(server.keepAliveTimeout, 60_000);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    async request(path, init = {}) {
      const response = await fetch(url + path, { method: init.method ?? 'GET', headers: init.headers });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, headers: response.headers, body, text };
    },
    close: () => app.close(),
  };
}

/** A clock the tests move by hand; throttles read it through an overridden `timer()`. */
export class FakeClock {
  constructor(public now = 1_000_000) {}
  advance(seconds: number): void {
    this.now += seconds;
  }
}

/** A Nest logger that keeps what it is told, for tests about warnings. */
export class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  log(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}
