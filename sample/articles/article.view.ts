import { Controller, Get } from '@nestjs/common';
import { AnonRateThrottle, Throttle, UserRateThrottle } from 'restflow-throttle';

/**
 * The docs' first example, `ArticleView`:
 *
 * ```python
 * class ArticleView(AsyncAPIView):
 *     throttle_classes = [AnonRateThrottle, UserRateThrottle]
 * ```
 *
 * Anonymous clients get the `anon` rate per address; signed-in users
 * (`Authorization: Token alice-token`) are not counted by the anon throttle
 * and get the `user` rate per user id. The two quotas stand side by side.
 */
@Controller('articles')
@Throttle([AnonRateThrottle, UserRateThrottle])
export class ArticleView {
  @Get()
  get(): { ok: boolean } {
    return { ok: true };
  }
}
