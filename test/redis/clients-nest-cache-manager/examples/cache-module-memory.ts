// docs/caches.md: Nest's CacheModule with its in-memory default, as the throttle cache.
import { CACHE_MANAGER, CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AnonRateThrottle, RestflowThrottleModule } from 'restflow-throttle';

@Module({
  imports: [
    CacheModule.register({ isGlobal: true }),
    RestflowThrottleModule.forRootAsync({
      inject: [CACHE_MANAGER],
      useFactory: (cache: Cache) => ({ defaultThrottles: [AnonRateThrottle], rates: { anon: '100/hour' }, cache }),
    }),
  ],
})
export class AppModule {}
