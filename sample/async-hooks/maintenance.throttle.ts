import { Injectable } from '@nestjs/common';
import { BaseThrottle } from 'restflow-throttle';
import { MaintenanceWindow } from './maintenance-window.service';

/**
 * The docs' `MaintenanceThrottle`: not a rate at all. `allowRequest` is async
 * (restflow's `aallow_request`) and the guard awaits it without blocking the
 * event loop; while a maintenance window is open every request is refused
 * with `Retry-After: 60`.
 *
 * It is not registered as a provider: the module builds it once, resolving
 * `MaintenanceWindow` from the module of the controller that uses it.
 */
@Injectable()
export class MaintenanceThrottle extends BaseThrottle {
  constructor(private readonly maintenance: MaintenanceWindow) {
    super();
  }

  async allowRequest(): Promise<boolean> {
    return !(await this.maintenance.isActive());
  }

  override wait(): number {
    return 60;
  }
}
