import { Module } from '@nestjs/common';
import { AccountPlans } from './account-plans.service';
import { ContractRateThrottle } from './contract-rate.throttle';
import { PlansController } from './plans.controller';
import { PlanRateThrottle } from './plan-rate.throttle';
import { TenantContracts } from './tenant-contracts.service';

/** Docs topic "Per-request rates" (docs/per-request-rates.md): rates by plan and by contract. */
@Module({
  controllers: [PlansController],
  providers: [AccountPlans, TenantContracts, PlanRateThrottle, ContractRateThrottle],
})
export class PlansModule {}
