/**
 * One process of the multi-process demo and of the Redis fault tests: a Nest
 * app with one throttled route, `GET /hit` (AnonRateThrottle), configured by
 * environment variables, printing `READY <port>` once it listens.
 *
 *   PORT             port to listen on; 0 (default) for any free one
 *   REDIS_URL        a Redis to share counts through; unset: the in-memory cache
 *   RATE             the anon rate, default 100/min
 *   PLATFORM         express (default) or fastify
 *   ON_CACHE_ERROR   allow (default) or deny;  CACHE_TIMEOUT_MS  default 1000
 *   NUM_PROXIES      trust X-Forwarded-For this deep (the driver picks the client key with it)
 *   CLOCK_SKEW_SEC   shifts this process's clock, as on a host whose clock is off
 *
 * Run with ts-node (see app-process.ts); it imports the library from source.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { caching } from 'cache-manager';
import { redisInsStore } from 'cache-manager-ioredis-yet';
import { Redis } from 'ioredis';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  Throttle,
  type CacheErrorPolicy,
  type RestflowThrottleOptions,
} from '../../../lib/index';

skewClock(Number(process.env.CLOCK_SKEW_SEC ?? 0));

@Controller()
class HitController {
  @Get('hit')
  @Throttle([AnonRateThrottle])
  hit() {
    return { pid: process.pid };
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const options: RestflowThrottleOptions = {
    rates: { anon: env.RATE ?? '100/min' },
    onCacheError: (env.ON_CACHE_ERROR ?? 'allow') as CacheErrorPolicy,
    cacheTimeoutMs: Number(env.CACHE_TIMEOUT_MS ?? 1000),
    numProxies: env.NUM_PROXIES === undefined ? undefined : Number(env.NUM_PROXIES),
  };
  if (env.REDIS_URL) {
    const client = new Redis(env.REDIS_URL);
    // The throttle module reports outages itself; without a listener ioredis prints every retry.
    client.on('error', () => undefined);
    options.cache = await caching(redisInsStore(client));
  }

  @Module({ imports: [RestflowThrottleModule.forRoot(options)], controllers: [HitController] })
  class AppModule {}

  const app: INestApplication =
    env.PLATFORM === 'fastify'
      ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: ['error', 'warn'] })
      : await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(Number(env.PORT ?? 0), '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(`READY ${port}\n`);
}

/** Moves every clock this process reads, so a store that trusted it would disagree with the others. */
function skewClock(seconds: number): void {
  if (!seconds) return;
  const now = performance.now.bind(performance);
  const dateNow = Date.now;
  performance.now = () => now() + seconds * 1000;
  Date.now = () => dateNow() + seconds * 1000;
}

main().catch((error: unknown) => {
  process.stderr.write(`throttled-app failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
