/**
 * The routes of the costs-and-blocks scenarios: throttles keyed on the `x-client` header, blocks set by the
 * module (`blockDurations`) and by a throttle, costs from `@ThrottleCost()` (a number, a function of the body,
 * an async one) and from a throttle's `getRequestCost()`, and routes with two throttles for `countRefused`.
 */
import { Controller, Get, type ExecutionContext, Post } from '@nestjs/common';
import {
  BaseThrottle,
  SimpleRateThrottle,
  Throttle,
  ThrottleCost,
  ThrottleScope,
  ScopedRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';

/** Keyed on the `x-client` header: every test has buckets of its own. */
export abstract class ClientThrottle extends SimpleRateThrottle {
  getCacheKey(request: ThrottleRequest): string | null {
    return this.formatKey(String(request.headers['x-client']));
  }
}

/** `login`: blocked for `blockDurations.login`. */
export class LoginThrottle extends ClientThrottle {
  override scope = 'login';
}
/** Its own block wins over the module's `blockDurations.pin`. */
export class PinThrottle extends ClientThrottle {
  override scope = 'pin';
  override blockDuration = '30s';
}
export class SmoothLoginThrottle extends ClientThrottle {
  override scope = 'smooth_login';
  override algorithm = 'gcra' as const;
}
/** No block: DRF's behaviour. */
export class PlainThrottle extends ClientThrottle {
  override scope = 'plain';
}
export class BulkThrottle extends ClientThrottle {
  override scope = 'bulk';
}
export class AsyncBulkThrottle extends ClientThrottle {
  override scope = 'bulk_async';
}
export class SmoothBulkThrottle extends ClientThrottle {
  override scope = 'smooth_bulk';
  override algorithm = 'gcra' as const;
}
/** Its `getRequestCost()` (a GraphQL-like complexity from a header) wins over the route's `@ThrottleCost()`. */
export class ComplexityThrottle extends ClientThrottle {
  override scope = 'query';
  override getRequestCost(request: ThrottleRequest): number {
    return Number(request.headers['x-complexity']);
  }
}
export class ShortThrottle extends ClientThrottle {
  override scope = 'short';
}
export class LongThrottle extends ClientThrottle {
  override scope = 'long';
}
/** The route's scope (`@ThrottleScope`), keyed on the `x-client` header. */
export class ClientScopedThrottle extends ScopedRateThrottle {
  override getCacheKey(request: ThrottleRequest): string | null {
    return this.formatKey(String(request.headers['x-client']));
  }
}
/** Not a rate: refuses while the request's `?gate=closed`. */
export class GateThrottle extends BaseThrottle {
  allowRequest(request: ThrottleRequest): boolean {
    return (request as ThrottleRequest & { query?: { gate?: string } }).query?.gate !== 'closed';
  }
}

export const RATES = {
  login: '3/min',
  pin: '2/min',
  smooth_login: '3/min',
  plain: '2/min',
  bulk: '10/min',
  bulk_async: '10/min',
  smooth_bulk: '10/min',
  report: '10/min',
  query: '100/min',
  short: '1/s',
  long: '3/min',
};

/** `pin`'s is overridden by PinThrottle's own 30 s. */
export const BLOCK_DURATIONS = { login: '15m', pin: '15m', smooth_login: 300 };

/** The items of a bulk request's JSON body. */
const items = (request: ThrottleRequest): number =>
  (request as { body?: { items?: unknown[] } }).body?.items?.length ?? 0;

@Controller('blocks')
export class BlocksController {
  @Post('login') @Throttle([LoginThrottle]) login() {
    return { ok: true };
  }
  @Post('pin') @Throttle([PinThrottle]) pin() {
    return { ok: true };
  }
  @Post('smooth-login') @Throttle([SmoothLoginThrottle]) smoothLogin() {
    return { ok: true };
  }
  @Post('plain') @Throttle([PlainThrottle]) plain() {
    return { ok: true };
  }
}

@Controller('costs')
export class CostsController {
  @Post('bulk') @Throttle([BulkThrottle]) @ThrottleCost(items) bulk() {
    return { ok: true };
  }
  /** The cost is the body's `count`, whatever it is: a bad one fails the request. */
  @Post('count')
  @Throttle([BulkThrottle])
  @ThrottleCost((request: ThrottleRequest) => (request as { body?: { count?: number } }).body?.count as number)
  count() {
    return { ok: true };
  }
  @Post('bulk-async')
  @Throttle([AsyncBulkThrottle])
  @ThrottleCost(async (request: ThrottleRequest, context: ExecutionContext) => {
    await new Promise((resolve) => setImmediate(resolve));
    return context.getType() === 'http' ? items(request) : 1;
  })
  bulkAsync() {
    return { ok: true };
  }
  @Post('smooth-bulk') @Throttle([SmoothBulkThrottle]) @ThrottleCost(items) smoothBulk() {
    return { ok: true };
  }
  @Get('query') @Throttle([ComplexityThrottle]) @ThrottleCost(100) query() {
    return { ok: true };
  }
  @Get('query-again') @Throttle([ComplexityThrottle]) queryAgain() {
    return { ok: true };
  }
}

/** A fixed cost on the class, one handler's own on the method. */
@Controller('reports')
@Throttle([ClientScopedThrottle])
@ThrottleScope('report')
@ThrottleCost(5)
export class ReportsController {
  @Get('summary') summary() {
    return { ok: true };
  }
  @Get('row') @ThrottleCost(1) row() {
    return { ok: true };
  }
}

@Controller('together')
export class TogetherController {
  @Get('multi') @Throttle([ShortThrottle, LongThrottle]) multi() {
    return { ok: true };
  }
  @Get('gated') @Throttle([LongThrottle, GateThrottle]) gated() {
    return { ok: true };
  }
}
