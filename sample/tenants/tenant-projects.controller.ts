import { Controller, Get, Req } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';
import type { SampleUser } from '../auth/users';
import { TenantRateThrottle } from './tenant-rate.throttle';

/** A tenant's projects: every user of one tenant draws on the same quota. */
@Controller('tenant/projects')
@Throttle([TenantRateThrottle])
export class TenantProjectsController {
  @Get()
  list(@Req() request: { user?: SampleUser }): { tenant: string | null; projects: string[] } {
    return { tenant: request.user?.tenantId ?? null, projects: ['website', 'mobile-app'] };
  }
}
