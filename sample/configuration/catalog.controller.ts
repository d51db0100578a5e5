import { Controller, Get } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';

/**
 * Docs topic "Configuration". This controller names no throttles, so its
 * routes get the module's `defaultThrottles` (DRF's
 * `DEFAULT_THROTTLE_CLASSES`: anon + user here). One route opts out with
 * `@Throttle([])`, DRF's `throttle_classes = []`.
 */
@Controller('catalog')
export class CatalogController {
  @Get()
  list(): { products: string[] } {
    return { products: ['basic', 'pro'] };
  }

  @Get('terms')
  @Throttle([])
  terms(): { terms: string } {
    return { terms: 'Use the API kindly.' };
  }
}
