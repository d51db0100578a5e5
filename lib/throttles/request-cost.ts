/**
 * Weighted requests and blocks on a route: what one request of the route counts as (a number, or asked of the
 * request: a bulk call's item count, a GraphQL query's complexity) and how long a refusal blocks the client,
 * fixed per throttle and route at startup. A route with neither has none of this, and pays nothing for it.
 */
import { InternalServerErrorException, type ExecutionContext, type Logger } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { ThrottleRequest } from '../identity/throttle-request';
import { isThenable } from '../utils/chain';
import { type BlockDuration, parseBlockDuration } from './block-duration';

/** A request's cost, read from it: sync or async; a whole number >= 0. */
export type RequestCostFunction = (request: ThrottleRequest, context: ExecutionContext) => number | PromiseLike<number>;

/** What `@ThrottleCost()` takes: a fixed cost, or a function of the request. */
export type RequestCost = number | RequestCostFunction;

/** Whether `value` is a cost: a whole number >= 0 (a safe integer). */
export function isCost(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** `@ThrottleCost(...)`'s value checked at startup: a cost or a function, else the app does not start. */
export function checkCostLiteral(value: unknown, where: string): RequestCost {
  if (isCost(value) || typeof value === 'function') return value as RequestCost;
  throw new ImproperlyConfiguredError(
    `@ThrottleCost(${JSON.stringify(value) ?? String(value)}) on ${where}: a cost is a whole number >= 0 ` +
      '(0 counts nothing, 5 counts as five requests) or a function of the request returning one.',
    'RFT_INVALID_THROTTLE_COST',
  );
}

/** What {@link hitWeights} reads of a rate throttle on one route. */
export interface WeightSources {
  /** The throttle's class name and the route's name, for messages. */
  readonly throttle: string;
  readonly route: string;
  /** The throttle's own `blockDuration`, unparsed; wins over `configuredBlock`. */
  readonly blockDuration: BlockDuration | undefined;
  /** The module's `blockDurations[scope]`, in seconds. */
  readonly configuredBlock: number | undefined;
  /** The throttle's `getRequestCost()` (bound), else the route's `@ThrottleCost()`; `undefined`: 1. */
  readonly cost: RequestCost | undefined;
  /** The throttle's fixed limit, to refuse at startup a fixed cost above it; `undefined` when not fixed. */
  readonly limit: number | null | undefined;
  readonly logger: Logger | undefined;
}

/**
 * At startup: a rate throttle's weights on a route, or `undefined` for cost 1 and no block (the usual route,
 * which then runs as before). A fixed cost above a fixed limit would refuse every request: the app does not start.
 */
export function hitWeights(sources: WeightSources): HitWeights | undefined {
  const { throttle, route, blockDuration, limit } = sources;
  const blockSec =
    blockDuration === undefined
      ? (sources.configuredBlock ?? 0)
      : parseBlockDuration(blockDuration, `${throttle}.blockDuration`);
  const cost = sources.cost ?? 1;
  if (typeof cost === 'number' && limit !== undefined && limit !== null && cost > limit) {
    throw new ImproperlyConfiguredError(
      `@ThrottleCost(${cost}) is more than the ${limit} requests '${throttle}' allows per window, so every ` +
        'request would be refused: lower the cost or raise the rate.',
      'RFT_INVALID_THROTTLE_COST',
    );
  }
  if (blockSec === 0 && cost === 1) return undefined;
  return new HitWeights(cost, blockSec, `${route} (${throttle})`, sources.logger);
}

/**
 * A rate throttle's weights on one route: each request's cost (1 unless the route's `@ThrottleCost()` or the
 * throttle's `getRequestCost()` says otherwise) and the block a refusal starts.
 */
export class HitWeights {
  private logged = false;

  constructor(
    /** A fixed cost, or the function asked per request. */
    private readonly source: RequestCost,
    /** Seconds a refused client stays refused (0: DRF, none). */
    readonly blockSec: number,
    /** `ArticlesController.list` via `UserRateThrottle`, for messages. */
    private readonly where: string,
    private readonly logger: Logger | undefined,
  ) {}

  /**
   * This request's cost. What is not a whole number >= 0 fails the request (a 500 that says why, its cause an
   * `RFT_INVALID_REQUEST_COST` error, logged once per throttle and route), never counted as some other cost.
   */
  cost(request: ThrottleRequest, context: ExecutionContext): number | Promise<number> {
    const source = this.source;
    if (typeof source === 'number') return source;
    const value = source(request, context);
    if (isThenable<number>(value)) return Promise.resolve(value).then((v) => this.checked(v));
    return this.checked(value);
  }

  private checked(value: unknown): number {
    if (isCost(value)) return value;
    const got = typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? typeof value);
    const cause = new ImproperlyConfiguredError(
      `The request cost on ${this.where} must be a whole number >= 0, got ${got}.`,
      'RFT_INVALID_REQUEST_COST',
    );
    if (!this.logged) {
      this.logged = true;
      this.logger?.error(`${String(cause)} (logged once for this throttle and route)`);
    }
    // An HttpException: the request answers 500 with the reason, and Nest does not log it again per request.
    throw new InternalServerErrorException({ detail: cause.message }, { cause });
  }
}
