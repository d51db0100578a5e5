// docs/caches.md: Nest's CacheModule on @keyv/valkey (an iovalkey client), as the throttle cache.
import KeyvValkey from '@keyv/valkey';
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
        const keyv = new Keyv({ store: new KeyvValkey(process.env.VALKEY_URL ?? 'redis://localhost:6379') });
        keyv.on('error', (error: unknown) => console.error('Valkey cache error:', error));
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
