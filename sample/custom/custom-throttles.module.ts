import { Module } from '@nestjs/common';
import { ConcurrencyThrottle } from './concurrency.throttle';
import { InFlightRequests } from './in-flight-requests.service';
import { PdfRenderer } from './pdf-renderer.service';
import { PartnerFeedController } from './partner-feed.controller';
import { RendersController } from './renders.controller';

/** Docs topic "Custom throttles": a rate keyed by API key, and a non-rate throttle. */
@Module({
  controllers: [PartnerFeedController, RendersController],
  providers: [InFlightRequests, ConcurrencyThrottle, PdfRenderer],
})
export class CustomThrottlesModule {}
