/** The app under test, a process per HTTP run: `node server.js <json>` prints `{"port":N}` once listening. */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Module, type ModuleMetadata } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';

type Settings = { platform: string; limiter: string; redisPort: number };
const { platform, limiter, redisPort } = JSON.parse(process.argv[2]) as Settings;
type PeerRedis = { ThrottlerStorageRedisService: new (client: Redis) => ThrottlerStorage };

@Controller()
class HelloController {
  @Get() hello() {
    return { hello: 'world' };
  }
}

/** Every limiter allows every request (10^9 a minute) and keys on the last X-Forwarded-For address: the same work. */
function limiterModule(): ModuleMetadata {
  const redis = limiter.endsWith('-redis') ? new Redis({ host: '127.0.0.1', port: redisPort }) : undefined;
  if (limiter === 'none') return {};
  const ours = { defaultThrottles: [AnonRateThrottle], rates: { anon: '1000000000/min' }, numProxies: 1, cache: redis };
  if (limiter.startsWith('ours-')) return { imports: [RestflowThrottleModule.forRoot(ours)] };
  // Installed in bench/competitors: it declares peers only up to Nest 11.
  const competitors = createRequire(`${process.cwd()}/bench/competitors/`);
  const peerRedis = competitors('@nest-lab/throttler-storage-redis') as PeerRedis;
  const storage = redis && new peerRedis.ThrottlerStorageRedisService(redis);
  // Keyed as ours is with `numProxies: 1` (the last X-Forwarded-For address), through @nestjs/throttler's own hook.
  const peer = ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: 1e9 }], storage,
    getTracker: async (req) => String(req.headers['x-forwarded-for'] ?? req.ip).split(',').at(-1)!.trim() });
  return { imports: [peer], providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }] };
}

@Module({ controllers: [HelloController], ...limiterModule() })
class BenchModule {}

async function main(): Promise<void> {
  const adapter = platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(BenchModule, adapter, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  console.log(JSON.stringify({ port: (app.getHttpServer().address() as { port: number }).port }));
}

main().catch((error: unknown) => (console.error(error), process.exit(1)));
