/**
 * The bench app, one process per run: `node server.js <platform> <limiter> <redisPort>`.
 * A Nest "hello world" (one JSON route) behind one of the limiters; prints
 * `ready <port>` once listening. Every limiter allows every request (a limit
 * of 10^9 a minute) and keys on the last X-Forwarded-For address (DRF's
 * `NUM_PROXIES = 1`), so all do the same work per request.
 */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Controller, Get, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';

/** restflow-throttle's Redis cache the recommended way, the client itself; shared with the engine benchmarks. */
export function oursRedisCache(client: Redis): Redis {
  client.on('error', () => undefined);
  return client;
}

@Controller()
class HelloController {
  @Get()
  hello(): { hello: string } {
    return { hello: 'world' };
  }
}

/** @nestjs/throttler with the same client rule, through its documented `getTracker` hook. */
@Injectable()
class XffThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const xff = (req.headers as Record<string, string | undefined>)['x-forwarded-for'];
    const addrs = xff?.split(',') ?? [String(req.ip)];
    return addrs[addrs.length - 1].trim();
  }
}

@Module({ controllers: [HelloController] })
class BenchModule {}

async function limiterModule(limiter: string, redisPort: number): Promise<DynamicModule> {
  const redis = () => new Redis({ host: '127.0.0.1', port: redisPort });
  const ours = { defaultThrottles: [AnonRateThrottle], rates: { anon: '1000000000/min' }, numProxies: 1 };
  const peer = { throttlers: [{ ttl: 60_000, limit: 1_000_000_000 }] };
  const peerGuard = [{ provide: APP_GUARD, useClass: XffThrottlerGuard }];
  switch (limiter) {
    case 'none':
      return { module: BenchModule };
    default:
      throw new Error(`unknown limiter '${limiter}'`);
    case 'ours-memory':
      return { module: BenchModule, imports: [RestflowThrottleModule.forRoot(ours)] };
    case 'ours-redis':
      return { module: BenchModule, imports: [RestflowThrottleModule.forRoot({ ...ours, cache: oursRedisCache(redis()) })] };
    case 'peer-memory':
      return { module: BenchModule, imports: [ThrottlerModule.forRoot(peer)], providers: peerGuard };
    case 'peer-redis': {
      // Installed in bench/competitors: it declares peers only up to Nest 11 (see its package.json).
      const fromCompetitors = createRequire(join(process.cwd(), 'bench', 'competitors', 'package.json'));
      const { ThrottlerStorageRedisService } = fromCompetitors('@nest-lab/throttler-storage-redis') as {
        ThrottlerStorageRedisService: new (client: Redis) => ThrottlerStorage;
      };
      const storage = new ThrottlerStorageRedisService(redis());
      return { module: BenchModule, imports: [ThrottlerModule.forRoot({ ...peer, storage })], providers: peerGuard };
    }
  }
}

async function main(): Promise<void> {
  const [platform, limiter, redisPort] = process.argv.slice(2);
  const appModule = await limiterModule(limiter, Number(redisPort));
  const app = platform === 'fastify' ? await NestFactory.create(appModule, new FastifyAdapter(), { logger: ['error'] }) : await NestFactory.create(appModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  console.log(`ready ${(app.getHttpServer().address() as { port: number }).port}`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
