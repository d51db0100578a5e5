import { Inject, Injectable } from '@nestjs/common';
import { SAMPLE_SETTINGS } from '../config/sample-settings.module';
import type { SampleSettings } from '../config/sample-settings';

/**
 * Whether a maintenance window is open. The docs call
 * `maintenance_window_active()`; here it is a service, and `isActive()` is
 * async as a lookup in a feature-flag store or a database would be.
 */
@Injectable()
export class MaintenanceWindow {
  private active: boolean;

  constructor(@Inject(SAMPLE_SETTINGS) settings: SampleSettings) {
    this.active = settings.maintenance;
  }

  async isActive(): Promise<boolean> {
    return this.active;
  }

  open(): void {
    this.active = true;
  }

  close(): void {
    this.active = false;
  }
}
