/**
 * Requests the module leaves alone before any throttle runs: the module's
 * `skipIf` and `ignoreUserAgents`, made into one check at startup, or none
 * when neither is set (then a route's requests pay nothing for them).
 */
import type { ExecutionContext } from '@nestjs/common';
import type { ThrottleRequest } from '../identity/throttle-request';
import type { RestflowThrottleOptions } from '../module/options';

/** The module options read here. */
type SkipOptions = Pick<RestflowThrottleOptions, 'skipIf' | 'ignoreUserAgents'>;

/** `true` (or a promise of it): the request is not throttled and not counted. */
export type SkipCheck = (context: ExecutionContext, request: ThrottleRequest) => boolean | PromiseLike<boolean>;

/**
 * At startup: the check of the module's skip options, `undefined` when there
 * is none. The user agent is tested first (a header read), `skipIf` only for
 * requests it does not settle.
 */
export function skipCheck(options: SkipOptions): SkipCheck | undefined {
  const { skipIf } = options;
  const agents = (options.ignoreUserAgents ?? []).map(stateless);
  if (agents.length === 0) return skipIf === undefined ? undefined : (context) => skipIf(context);
  const ignored = (request: ThrottleRequest): boolean => {
    const agent = userAgent(request);
    return agent !== undefined && agents.some((pattern) => pattern.test(agent));
  };
  if (skipIf === undefined) return (_context, request) => ignored(request);
  return (context, request) => ignored(request) || skipIf(context);
}

/**
 * The same pattern without `g` and `y`: with them `test()` resumes at
 * `lastIndex`, so one pattern shared by every request would match a user
 * agent, then miss the same one on the next request.
 */
function stateless(pattern: RegExp): RegExp {
  return pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
}

/**
 * The request's `User-Agent`: an HTTP request's (GraphQL's too), a WebSocket
 * handshake's; a microservice message has none.
 */
function userAgent(request: ThrottleRequest): string | undefined {
  const value = request.headers?.['user-agent'];
  return Array.isArray(value) ? value[0] : value;
}
