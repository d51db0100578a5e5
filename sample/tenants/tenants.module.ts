import { Module } from '@nestjs/common';
import { TenantProjectsController } from './tenant-projects.controller';

/** Docs topic "SimpleRateThrottle": a throttle with its own cache key. */
@Module({ controllers: [TenantProjectsController] })
export class TenantsModule {}
