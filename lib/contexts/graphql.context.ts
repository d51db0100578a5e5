/**
 * GraphQL operations (Apollo, Mercurius): the HTTP request behind them, and the GraphQL error a throttled one
 * gets.
 */
import { IntrinsicException, type ArgumentsHost } from '@nestjs/common';
import { THROTTLES_METADATA } from '../module/constants';
import type { ThrottleRequest } from '../identity/throttle-request';
import { failurePayload, THROTTLED_CODE, throttledPayload } from './throttled-payload';
import type { ThrottleTarget } from './target';
import { GraphQLWsThrottleRequest, graphqlWsContext } from './graphql-ws-request';

/** `@nestjs/graphql`'s metadata keys, read structurally so the package stays optional. */
const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';
const RESOLVER_PROPERTY_METADATA = 'graphql:resolve_property';
const RESOLVER_REFERENCE_METADATA = 'graphql:resolve_reference';

/** The injection token of `GraphQLModule`'s options (`@nestjs/graphql`'s `GRAPHQL_MODULE_OPTIONS`). */
export const GRAPHQL_MODULE_OPTIONS = 'GqlModuleOptions';

/**
 * `true` for a `@ResolveField()` with its own `@Throttle([...])` that Nest
 * will never guard: it runs guards on field resolvers only with
 * `fieldResolverEnhancers: ['guards']` in the GraphQL module's options, so
 * those throttles would be silently ignored. (Class-level throttles are not
 * reported: leaving field resolvers out is what most apps mean.)
 * `graphqlOptions`: those options, or `undefined` without a GraphQL module.
 */
export function unguardedFieldResolver(handler: Function, graphqlOptions: unknown): boolean {
  if (
    graphqlOptions === undefined ||
    graphqlOptions === null ||
    Reflect.getMetadata(RESOLVER_PROPERTY_METADATA, handler) !== true
  )
    return false;
  const own = Reflect.getMetadata(THROTTLES_METADATA, handler) as unknown;
  if (!Array.isArray(own) || own.length === 0) return false;
  const enhancers = (graphqlOptions as { fieldResolverEnhancers?: unknown }).fieldResolverEnhancers;
  return !(Array.isArray(enhancers) && enhancers.includes('guards'));
}

/** A query, mutation or subscription (`RESOLVER_TYPE`), a `@ResolveField()` or a `@ResolveReference()`. */
export function isResolverHandler(handler: Function): boolean {
  return (
    Reflect.getMetadata(RESOLVER_TYPE_METADATA, handler) !== undefined ||
    Reflect.getMetadata(RESOLVER_PROPERTY_METADATA, handler) === true ||
    Reflect.getMetadata(RESOLVER_REFERENCE_METADATA, handler) === true
  );
}

/**
 * The GraphQL error of a throttled operation. graphql-js copies an original
 * error's `extensions` into the error it reports, and Apollo and Mercurius
 * send them as they are, so no GraphQL class is needed to build it. An
 * `IntrinsicException`, as Nest's HTTP exceptions are: a throttled call is
 * an expected answer, which Nest's exception handler does not log as an error.
 */
export class ThrottledGraphQLError extends IntrinsicException {
  readonly extensions: {
    readonly code: typeof THROTTLED_CODE;
    /** Whole seconds, or `null` when unknown. */
    readonly retryAfter: number | null;
    readonly headers?: Readonly<Record<string, string>>;
  };

  constructor(wait: number | null, headers?: Readonly<Record<string, string>>, detail?: string) {
    const payload = throttledPayload(wait, headers, detail);
    super(payload.message);
    this.name = 'ThrottledGraphQLError';
    this.extensions = {
      code: payload.code,
      retryAfter: payload.retryAfter,
      ...(headers === undefined ? {} : { headers }),
    };
  }
}

/** The GraphQL error of a call the throttles could not decide (the cache is down under `onCacheError: 'deny'`). */
export class UnavailableGraphQLError extends IntrinsicException {
  readonly extensions: { readonly code: string; readonly statusCode: number };

  constructor(message: string, code: string, statusCode: number) {
    super(message);
    this.name = 'UnavailableGraphQLError';
    this.extensions = { code, statusCode };
  }
}

/** What the GraphQL context may hold, whatever the driver and the user's `context` option. */
interface GraphQLContextValue {
  /** Apollo and Mercurius through Nest's drivers: the HTTP request. */
  req?: ThrottleRequest;
  request?: ThrottleRequest;
  /** The response, when the user's `context` puts it there (`({ req, res }) => ({ req, res })`). */
  res?: HeaderSink;
  /** Mercurius: the Fastify reply. */
  reply?: HeaderSink & { request?: ThrottleRequest };
  /** graphql-ws subscriptions (a context factory that returns graphql-ws' `extra`): the upgrade request. */
  extra?: { request?: ThrottleRequest };
}

/** Express's `res` (`setHeader`) or Fastify's `reply` (`header`). */
interface HeaderSink {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
  headersSent?: boolean;
  sent?: boolean;
}

/**
 * The operation's HTTP request (its address, headers and user) and its
 * response, for `Retry-After`. A subscription over WebSocket has the upgrade
 * request instead: Mercurius puts it in the context as `request`; Apollo's
 * graphql-ws context (Nest's `req` then) holds it as `extra.request`.
 */
export function graphqlTarget(context: ArgumentsHost): ThrottleTarget {
  const value = (context.getArgByIndex(2) ?? {}) as GraphQLContextValue;
  const held = value.req ?? value.request ?? value.reply?.request;
  const subscription = graphqlWsContext(held) ?? graphqlWsContext(value);
  const request =
    subscription === undefined ? (held ?? value.extra?.request) : new GraphQLWsThrottleRequest(subscription);
  if (request === undefined || request === null || typeof request !== 'object') {
    throw new Error(
      'restflow-throttle: the GraphQL context has no request to throttle on. Keep `req` in it: with a custom `context` option, ' +
        'return an object (Nest adds `req`), or `({ req }) => ({ req, ... })`.',
    );
  }
  const response = value.res ?? value.reply ?? (request as { res?: HeaderSink }).res;
  const setHeaders = (headers: Readonly<Record<string, string>>): void => {
    if (response === undefined || response === null || response.headersSent === true || response.sent === true) return;
    for (const name in headers) {
      if (typeof response.header === 'function') response.header(name, headers[name]);
      else response.setHeader?.(name, headers[name]);
    }
  };
  return {
    request,
    throttled(wait, headers, detail) {
      const error = new ThrottledGraphQLError(wait, headers, detail);
      const retryAfter = error.extensions.retryAfter;
      setHeaders(retryAfter ? { ...headers, 'Retry-After': String(retryAfter) } : { ...headers });
      return error;
    },
    setHeaders,
    failed(error) {
      const payload = failurePayload(error);
      return payload === undefined
        ? error
        : new UnavailableGraphQLError(payload.message, payload.code, payload.statusCode);
    },
  };
}
