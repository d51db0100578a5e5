import { Controller, Get } from '@nestjs/common';
import { Throttle } from 'restflow-throttle';
import { ApiKeyRateThrottle } from './api-key-rate.throttle';

/** A feed for partners, limited per API key. */
@Controller('partner/feed')
@Throttle([ApiKeyRateThrottle])
export class PartnerFeedController {
  @Get()
  get(): { items: string[] } {
    return { items: ['price-update', 'stock-update'] };
  }
}
