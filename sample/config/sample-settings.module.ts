import { DynamicModule, Global, Module } from '@nestjs/common';
import type { SampleSettings } from './sample-settings';

/** Injection token of the app's {@link SampleSettings}. */
export const SAMPLE_SETTINGS = Symbol('SAMPLE_SETTINGS');

/**
 * Makes the settings injectable everywhere, as `@nestjs/config`'s
 * `ConfigModule` would in a real app (the sample avoids the extra dependency).
 */
@Global()
@Module({})
export class SampleSettingsModule {
  static forRoot(settings: SampleSettings): DynamicModule {
    return {
      module: SampleSettingsModule,
      providers: [{ provide: SAMPLE_SETTINGS, useValue: settings }],
      exports: [SAMPLE_SETTINGS],
    };
  }
}
