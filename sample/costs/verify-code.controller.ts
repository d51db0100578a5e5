import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ScopedRateThrottle, Throttle, ThrottleScope } from 'restflow-throttle';

/**
 * A one-time code check: `verify: '3/10m'`, and `blockDurations: { verify: '1h' }` in the module's options, so a
 * client that guessed wrong three times in ten minutes waits an hour, told so by `Retry-After`
 * (docs/costs-and-blocks.md).
 */
@Controller('verify-code')
@Throttle([ScopedRateThrottle])
@ThrottleScope('verify')
export class VerifyCodeController {
  @Post()
  @HttpCode(200)
  verify(@Body() body: { code?: string }) {
    return { valid: body?.code === '424242' };
  }
}
