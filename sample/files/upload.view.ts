import { Controller, HttpCode, Post } from '@nestjs/common';
import { ScopedRateThrottle, Throttle, ThrottleScope } from 'restflow-throttle';

/**
 * The docs' `UploadView`: `ScopedRateThrottle` reads the rate of the
 * `uploads` scope (`throttle_scope = "uploads"`).
 */
@Controller('uploads')
@Throttle([ScopedRateThrottle])
@ThrottleScope('uploads')
export class UploadView {
  @Post()
  @HttpCode(201)
  create(): { uploaded: boolean } {
    return { uploaded: true };
  }
}
