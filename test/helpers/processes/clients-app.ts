/**
 * One process of the multi-process runs per Redis client family
 * (clients-multi-process.ts): a Nest app with one throttled route,
 * `GET /hit` (AnonRateThrottle), whose cache is Redis in the form CLIENT
 * names, printing `READY <port>` once it listens.
 *
 *   CLIENT        nest-keyv-redis | keyv-valkey | node-redis | node-redis-cluster | iovalkey | ioredis
 *   REDIS_URL     the server (or one node of the cluster)
 *   RATE          the anon rate, default 100/min
 *   PLATFORM      express (default) or fastify
 *
 * The client honours X-Forwarded-For one proxy deep, so the driver picks
 * the throttle key. Compiled by clients-multi-process.ts next to the
 * library build of app-build.ts.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  Throttle,
  type RestflowThrottleOptions,
  type ThrottleCacheLike,
} from '../../../lib/index';

@Controller()
class HitController {
  @Get('hit')
  @Throttle([AnonRateThrottle])
  hit() {
    return { pid: process.pid };
  }
}

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A generous deadline: these runs prove atomicity, and a hit timed out on a loaded machine would be let through.
const options: RestflowThrottleOptions = {
  rates: { anon: process.env.RATE ?? '100/min' },
  numProxies: 1,
  cacheTimeoutMs: 10_000,
};
const ignore = () => undefined;

/**
 * The throttle module, with its cache in the form the family names. Each
 * family loads only its own libraries: 4 processes start on 2 cores.
 */
async function throttleModule(client: string): Promise<DynamicModule[]> {
  switch (client) {
    case 'nest-keyv-redis': {
      // Nest's own cache module on @keyv/redis, its CACHE_MANAGER handed over as it is.
      const [{ default: KeyvRedis }, { CACHE_MANAGER, CacheModule, Keyv }] = await Promise.all([
        import('@keyv/redis'),
        import('restflow-fixture-nest-cache-manager'),
      ]);
      return [
        CacheModule.register({ isGlobal: true, stores: [new Keyv({ store: new KeyvRedis(url) }).on('error', ignore)] }),
        RestflowThrottleModule.forRootAsync({
          inject: [CACHE_MANAGER],
          useFactory: (cache: ThrottleCacheLike) => ({ ...options, cache }),
        }),
      ];
    }
    case 'keyv-valkey': {
      const [{ default: KeyvValkey }, { createCache, Keyv }] = await Promise.all([
        import('@keyv/valkey'),
        import('restflow-fixture-nest-cache-manager'),
      ]);
      const cache = createCache({ stores: [new Keyv({ store: new KeyvValkey(url) }).on('error', ignore)] });
      return [RestflowThrottleModule.forRoot({ ...options, cache })];
    }
    case 'node-redis': {
      const { createClient } = await import('redis');
      return [
        RestflowThrottleModule.forRoot({
          ...options,
          cache: await createClient({ url }).on('error', ignore).connect(),
        }),
      ];
    }
    case 'node-redis-cluster': {
      const { createCluster } = await import('redis');
      return [
        RestflowThrottleModule.forRoot({
          ...options,
          cache: await createCluster({ rootNodes: [{ url }] })
            .on('error', ignore)
            .connect(),
        }),
      ];
    }
    case 'iovalkey': {
      const { Redis } = await import('iovalkey');
      return [RestflowThrottleModule.forRoot({ ...options, cache: new Redis(url).on('error', ignore) })];
    }
    case 'ioredis': {
      const { Redis } = await import('ioredis');
      return [RestflowThrottleModule.forRoot({ ...options, cache: new Redis(url).on('error', ignore) })];
    }
    default:
      throw new Error(`unknown CLIENT '${client}'`);
  }
}

async function main(): Promise<void> {
  @Module({ imports: await throttleModule(process.env.CLIENT ?? ''), controllers: [HitController] })
  class AppModule {}

  const logger = ['error', 'warn'] as const;
  const app: INestApplication =
    process.env.PLATFORM === 'fastify'
      ? await NestFactory.create(AppModule, new (await import('@nestjs/platform-fastify')).FastifyAdapter(), {
          logger: [...logger],
        })
      : await NestFactory.create(AppModule, { logger: [...logger] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(`READY ${port}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`clients-app failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
