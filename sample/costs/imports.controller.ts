import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ScopedRateThrottle, Throttle, ThrottleCost, ThrottleScope, type ThrottleRequest } from 'restflow-throttle';

/** The items of a bulk import: the request's cost. A malformed body costs 1; the handler answers it with 400. */
export function itemCount(request: ThrottleRequest): number {
  const items = (request.body as { items?: unknown } | undefined)?.items;
  return Array.isArray(items) ? items.length : 1;
}

/**
 * A bulk endpoint: each call counts as many requests as it imports items, so `imports: '100/hour'` is 100
 * items an hour per client, however they are batched (issue 23 item 4, docs/costs-and-blocks.md).
 */
@Controller('imports')
@Throttle([ScopedRateThrottle])
@ThrottleScope('imports')
export class ImportsController {
  @Post()
  @HttpCode(201)
  @ThrottleCost(itemCount)
  import(@Body() body: { items?: unknown }) {
    if (!Array.isArray(body?.items)) throw new BadRequestException({ detail: 'items must be an array.' });
    return { imported: body.items.length };
  }
}
