/** `@ThrottleCost(5)`: what each request of a handler or controller counts as, for its rate throttles. */
import { SetMetadata } from '@nestjs/common';
import { THROTTLE_COST_METADATA } from '../module/constants';
import type { RequestCost } from '../throttles/request-cost';

/**
 * Weighted requests: each request of this handler (or of every handler of this controller) counts as `cost`
 * requests for each rate throttle of the route, and is admitted only if that many fit in the window. A
 * function reads the cost from the request (a bulk call's item count, a GraphQL query's complexity), sync or
 * async, once per rate throttle. A cost is a whole number >= 0; `0` looks without counting. A literal that is
 * not one, or that is more than a throttle's limit, stops the app at startup; a function's bad answer fails
 * that request (500). A throttle's own `getRequestCost()` wins over this. See docs/costs-and-blocks.md.
 *
 * @example
 * ```ts
 * @Post('bulk')
 * @ThrottleCost((request) => (request.body as { items: unknown[] }).items.length)
 * importItems() {}
 * ```
 */
export function ThrottleCost(cost: RequestCost): ClassDecorator & MethodDecorator {
  return SetMetadata(THROTTLE_COST_METADATA, cost);
}
