/** The 503 of `onCacheError: 'deny'` when the throttle cache is down or too slow. */
import { HttpStatus, ServiceUnavailableException } from '@nestjs/common';

/**
 * Raised with `onCacheError: 'deny'` when the throttle cache fails or is too
 * slow: the request is refused with 503 rather than let through unthrottled.
 */
export class CacheUnavailableException extends ServiceUnavailableException {
  constructor(detail = 'Rate limiting is temporarily unavailable. Try again later.') {
    super({ detail }, { description: 'Throttle cache unavailable' });
  }

  override getStatus(): number {
    return HttpStatus.SERVICE_UNAVAILABLE;
  }
}
