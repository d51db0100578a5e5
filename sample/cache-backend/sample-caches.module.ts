import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { sampleCaches, type SampleCaches } from '../cache';
import { SAMPLE_SETTINGS } from '../config/sample-settings.module';
import type { SampleSettings } from '../config/sample-settings';

/** Injection token of the app's {@link SampleCaches}. */
export const SAMPLE_CACHES = Symbol('SAMPLE_CACHES');

/** Closes the Redis connections when the app closes, so the process can exit. */
@Injectable()
class SampleCachesCloser implements OnApplicationShutdown {
  constructor(@Inject(SAMPLE_CACHES) private readonly caches: SampleCaches) {}

  async onApplicationShutdown(): Promise<void> {
    await this.caches.close();
  }
}

/**
 * Builds the caches once, from `REDIS_URL`, and makes them injectable: the
 * throttle module's factory takes them, and tests reset them between cases.
 */
@Global()
@Module({
  providers: [
    {
      provide: SAMPLE_CACHES,
      inject: [SAMPLE_SETTINGS],
      useFactory: (settings: SampleSettings) => sampleCaches(settings.redisUrl),
    },
    SampleCachesCloser,
  ],
  exports: [SAMPLE_CACHES],
})
export class SampleCachesModule {}
