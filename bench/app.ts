import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  type CanActivate,
  type DynamicModule,
  type INestApplication,
  type Provider,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { caching } from 'cache-manager';
import { redisStore, type RedisStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';
import { loadNestLabRedisStorage } from './competitors';
import { ALLOW_ALL_LIMIT, WINDOW_SECONDS, type Limiter, type Platform } from './config';

/** The whole app: one JSON route, the Nest "hello world". */
@Controller()
export class HelloController {
  @Get()
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

/** Costs what Nest's guard pipeline costs and nothing more. */
@Injectable()
class NoopGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

/**
 * @nestjs/throttler, loaded only when a scenario uses it: it is CommonJS that
 * require()s Nest 12's ES modules, which Node 20.19+ does but Jest's module
 * loader on Node 20 does not, and the harness smoke test runs under Jest.
 */
async function loadNestjsThrottler() {
  const { ThrottlerGuard, ThrottlerModule } = await import('@nestjs/throttler');
  /**
   * The client key both libraries throttle on: DRF's `NUM_PROXIES = 1` rule
   * (the last X-Forwarded-For address), which restflow-throttle applies with
   * `numProxies: 1`. @nestjs/throttler gets the same rule through its
   * documented `getTracker` override, so both do the same per-request work.
   */
  @Injectable()
  class XffThrottlerGuard extends ThrottlerGuard {
    protected override async getTracker(req: Record<string, unknown>): Promise<string> {
      const xff = (req.headers as Record<string, string | undefined>)['x-forwarded-for'];
      if (!xff) return String(req.ip);
      const addrs = xff.split(',');
      return addrs[addrs.length - 1].trim();
    }
  }
  return { ThrottlerModule, XffThrottlerGuard };
}

@Module({})
class BenchModule {}

export interface BenchAppOptions {
  platform: Platform;
  limiter: Limiter;
  /** Port of the bench's own redis-server, for the Redis variants. */
  redisPort?: number;
  /** Package root, where `bench/competitors` lives. */
  root?: string;
}

export interface BenchApp {
  app: INestApplication;
  /** Closes the app and any Redis connection it opened. */
  close(): Promise<void>;
}

/** Builds (does not listen) the bench app for one platform and one limiter. */
export async function createBenchApp(options: BenchAppOptions): Promise<BenchApp> {
  const closers: Array<() => Promise<unknown>> = [];
  const module: DynamicModule = { module: BenchModule, controllers: [HelloController], ...(await limiterModule(options, closers)) };
  const app =
    options.platform === 'fastify'
      ? await NestFactory.create(module, new FastifyAdapter(), { logger: ['error'], abortOnError: false })
      : await NestFactory.create(module, { logger: ['error'], abortOnError: false });
  return {
    app,
    async close() {
      await app.close();
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}

async function limiterModule(
  options: BenchAppOptions,
  closers: Array<() => Promise<unknown>>,
): Promise<Pick<DynamicModule, 'imports' | 'providers'>> {
  const redisPort = (): number => {
    if (options.redisPort === undefined) throw new Error(`${options.limiter} needs a redisPort`);
    return options.redisPort;
  };
  const rate = `${ALLOW_ALL_LIMIT}/${WINDOW_SECONDS}s`;
  const throttlers = [{ ttl: WINDOW_SECONDS * 1000, limit: ALLOW_ALL_LIMIT }];
  const guard = (useClass: Type<CanActivate>): Provider[] => [{ provide: APP_GUARD, useClass }];

  switch (options.limiter) {
    case 'none':
      return {};
    case 'noop-guard':
      return { providers: guard(NoopGuard) };
    case 'restflow-memory':
      return { imports: [RestflowThrottleModule.forRoot({ defaultThrottles: [AnonRateThrottle], rates: { anon: rate }, numProxies: 1 })] };
    case 'restflow-redis': {
      // The public, documented way: a cache-manager cache on cache-manager-ioredis-yet.
      const cache = await caching(redisStore, { host: '127.0.0.1', port: redisPort(), lazyConnect: false });
      closers.push(() => (cache.store as RedisStore).client.quit());
      return {
        imports: [
          RestflowThrottleModule.forRoot({ defaultThrottles: [AnonRateThrottle], rates: { anon: rate }, numProxies: 1, cache }),
        ],
      };
    }
    case 'nestjs-throttler-memory': {
      const { ThrottlerModule, XffThrottlerGuard } = await loadNestjsThrottler();
      return { imports: [ThrottlerModule.forRoot({ throttlers })], providers: guard(XffThrottlerGuard) };
    }
    case 'nestjs-throttler-redis': {
      const { ThrottlerModule, XffThrottlerGuard } = await loadNestjsThrottler();
      const client = new Redis({ host: '127.0.0.1', port: redisPort() });
      closers.push(() => client.quit());
      const Storage = loadNestLabRedisStorage(options.root ?? process.cwd());
      const storage: ThrottlerStorage = new Storage(client);
      return { imports: [ThrottlerModule.forRoot({ throttlers, storage })], providers: guard(XffThrottlerGuard) };
    }
  }
}
