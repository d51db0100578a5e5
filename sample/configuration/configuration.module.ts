import { Module } from '@nestjs/common';
import { CatalogController } from './catalog.controller';
import { HealthController } from './health.controller';

/** Docs topic "Configuration": default throttles, opting out, and a route with none. */
@Module({ controllers: [CatalogController, HealthController] })
export class ConfigurationModule {}
