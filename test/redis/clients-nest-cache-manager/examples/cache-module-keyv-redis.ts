// docs/caches.md: Nest's CacheModule on @keyv/redis, as the throttle cache (one Lua script per decision).
import KeyvRedis from '@keyv/redis';
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';

@Module({
  imports: [
    CacheModule.registerAsync({
      isGlobal: true,
      useFactory: () => {
        const keyv = new Keyv({ store: new KeyvRedis(process.env.REDIS_URL ?? 'redis://localhost:6379') });
        // Keyv passes on its Redis client's errors: log them (an outage is also reported by the throttles).
        keyv.on('error', (error: unknown) => console.error('Redis cache error:', error));
        return { stores: [keyv] };
      },
    }),
    RestflowThrottleModule.forRootAsync({
      inject: [CACHE_MANAGER],
      useFactory: (cache: Cache) => ({ defaultThrottles: [AnonRateThrottle], rates: { anon: '100/hour' }, cache }),
    }),
  ],
})
export class AppModule {}
