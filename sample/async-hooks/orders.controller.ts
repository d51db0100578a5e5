import { Controller, HttpCode, Post } from '@nestjs/common';
import { Throttle, UserRateThrottle } from 'restflow-throttle';
import { MaintenanceThrottle } from './maintenance.throttle';

/**
 * Placing an order: refused during maintenance, and limited per user. When
 * both throttles deny, `Retry-After` is the longer of their waits.
 */
@Controller('orders')
@Throttle([MaintenanceThrottle, UserRateThrottle])
export class OrdersController {
  @Post()
  @HttpCode(201)
  place(): { placed: boolean } {
    return { placed: true };
  }
}
