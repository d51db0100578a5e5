/** The bench app, one process per run: `node server.js <platform> <limiter> <redisPort>` prints `{"port":N}` once listening. */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';

@Controller()
class HelloController {
  @Get() hello() {
    return { hello: 'world' };
  }
}

/** @nestjs/throttler keyed as ours is (`numProxies: 1`: the last X-Forwarded-For address), through its documented hook. */
@Injectable()
class XffThrottlerGuard extends ThrottlerGuard {
  protected override async getTracker(req: { headers: Record<string, string | undefined>; ip?: string }): Promise<string> {
    return (req.headers['x-forwarded-for'] ?? String(req.ip)).split(',').at(-1)!.trim();
  }
}

/** Every limiter allows every request (10^9 a minute), so that each does the same work per request. */
function limiter(name: string, port: number): Omit<DynamicModule, 'module'> {
  const redis = () => new Redis({ host: '127.0.0.1', port }).on('error', (error: Error) => console.error(error.message));
  if (name === 'none') return {};
  if (name.startsWith('ours-')) {
    const cache = name === 'ours-redis' ? redis() : undefined;
    return { imports: [RestflowThrottleModule.forRoot({ defaultThrottles: [AnonRateThrottle], rates: { anon: '1000000000/min' }, numProxies: 1, cache })] };
  }
  // Installed in bench/competitors: it declares peers only up to Nest 11.
  const peerRedis = () => createRequire(`${process.cwd()}/bench/competitors/`)('@nest-lab/throttler-storage-redis') as { ThrottlerStorageRedisService: new (client: Redis) => ThrottlerStorage };
  const storage = name === 'peer-redis' ? new (peerRedis().ThrottlerStorageRedisService)(redis()) : undefined;
  return { imports: [ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: 1e9 }], storage })], providers: [{ provide: APP_GUARD, useClass: XffThrottlerGuard }] };
}

async function main(): Promise<void> {
  const [platform, name, redisPort] = process.argv.slice(2);
  @Module({ controllers: [HelloController], ...limiter(name, Number(redisPort)) })
  class BenchModule {}
  const app = platform === 'fastify' ? await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: ['error'] }) : await NestFactory.create(BenchModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  console.log(JSON.stringify({ port: (app.getHttpServer().address() as { port: number }).port }));
}

main().catch((error: unknown) => (console.error(error), process.exit(1)));
