import { Controller, Get } from '@nestjs/common';
import { SkipThrottle } from 'restflow-throttle';

/**
 * A health check for load balancers and orchestrators: never throttled, or
 * a busy client could get the instance marked unhealthy.
 * `@SkipThrottle()` is the same as `@Throttle([])`.
 */
@Controller('health')
@SkipThrottle()
export class HealthController {
  @Get()
  check(): { status: string } {
    return { status: 'ok' };
  }
}
