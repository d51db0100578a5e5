import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { RestflowThrottleModule } from 'restflow-throttle';
import { AdminModule } from './admin/admin.module';
import { ArticlesModule } from './articles/articles.module';
import { MaintenanceModule } from './async-hooks/maintenance.module';
import { LoginModule } from './auth/login.module';
import { TokenAuthGuard } from './auth/token-auth.guard';
import { CacheBackendModule } from './cache-backend/cache-backend.module';
import { CostsModule } from './costs/costs.module';
import { SAMPLE_CACHES, SampleCachesModule } from './cache-backend/sample-caches.module';
import { SAMPLE_SETTINGS, SampleSettingsModule } from './config/sample-settings.module';
import type { SampleSettings } from './config/sample-settings';
import { ConfigurationModule } from './configuration/configuration.module';
import { throttlingOptions } from './configuration/throttling-options';
import { CustomThrottlesModule } from './custom/custom-throttles.module';
import { FilesModule } from './files/files.module';
import { GatewaySampleModule } from './gateway/gateway-sample.module';
import { GraphqlSampleModule } from './graphql/graphql-sample.module';
import { HomeController } from './home.controller';
import { MetricsModule } from './metrics/metrics.module';
import { PlansModule } from './plans/plans.module';
import { TenantsModule } from './tenants/tenants.module';
import { ViewSetsModule } from './viewsets/viewsets.module';

/**
 * The sample's root module: one feature module per topic of the restflow
 * throttling docs, and the throttling configured once, here.
 */
@Module({})
export class AppModule {
  static register(settings: SampleSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SampleSettingsModule.forRoot(settings),
        SampleCachesModule,
        // DRF's REST_FRAMEWORK throttle settings, from injected settings and caches.
        RestflowThrottleModule.forRootAsync({
          inject: [SAMPLE_SETTINGS, SAMPLE_CACHES],
          useFactory: throttlingOptions,
        }),
        ArticlesModule,
        FilesModule,
        ViewSetsModule,
        TenantsModule,
        MaintenanceModule,
        CustomThrottlesModule,
        CacheBackendModule,
        ConfigurationModule,
        PlansModule,
        MetricsModule,
        GraphqlSampleModule.forPlatform(settings.platform),
        GatewaySampleModule,
        CostsModule,
        AdminModule,
        LoginModule,
      ],
      controllers: [HomeController],
      providers: [
        // Authentication: the throttles run after every guard, wherever it is declared,
        // so they see request.user (DRF: throttles run after authentication).
        { provide: APP_GUARD, useClass: TokenAuthGuard },
      ],
    };
  }
}
