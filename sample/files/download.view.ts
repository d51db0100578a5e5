import { Controller, Get, Param } from '@nestjs/common';
import { ScopedRateThrottle, Throttle, ThrottleScope } from 'restflow-throttle';

/**
 * The docs' `DownloadView`: the same throttle class as `UploadView`, another
 * scope, so another rate and another bucket. Both routes below share the
 * `downloads` scope, and so one bucket per client.
 */
@Controller('downloads')
@Throttle([ScopedRateThrottle])
@ThrottleScope('downloads')
export class DownloadView {
  @Get()
  list(): { files: string[] } {
    return { files: ['report.pdf', 'data.csv'] };
  }

  @Get(':name')
  get(@Param('name') name: string): { file: string } {
    return { file: name };
  }
}
