import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ActionConfig, ScopedRateThrottle, Throttle } from 'restflow-throttle';

/**
 * The docs' `ReportViewSet` with its custom `export` action:
 *
 * ```python
 * @action(detail=False, methods=["post"], throttle_scope="exports")
 * ```
 *
 * is `@ActionConfig({ throttleScope: 'exports' })` on the handler (the method
 * form). `list` has no scope, and `ScopedRateThrottle` lets a handler without
 * a scope through: only the export is limited.
 */
@Controller('viewsets/reports')
@Throttle([ScopedRateThrottle])
export class ReportViewSet {
  @Get()
  list(): Array<{ id: number; name: string }> {
    return [{ id: 1, name: 'Monthly revenue' }];
  }

  @Post('export')
  @HttpCode(200)
  @ActionConfig({ throttleScope: 'exports' })
  export(): { ok: boolean } {
    return { ok: true };
  }
}
