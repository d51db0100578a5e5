import { Controller, Get } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';
import { ContractRateThrottle } from './contract-rate.throttle';
import { PlanRateThrottle } from './plan-rate.throttle';

/** Per-request rates: by the user's plan, and by the tenant's contract. */
@Controller('plans')
export class PlansController {
  /** Free users: 100/hour; pro: 10000/hour; internal: unlimited. */
  @Get('reports')
  @Throttle([PlanRateThrottle])
  reports(): { reports: string[] } {
    return { reports: ['usage', 'billing'] };
  }

  /** At the rate of the tenant's contract (acme 1000/day, globex 20/min, others 5/min). */
  @Get('exports')
  @Throttle([ContractRateThrottle])
  exports(): { exports: string[] } {
    return { exports: ['projects.csv'] };
  }
}
