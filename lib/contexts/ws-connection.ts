/**
 * Throttling WebSocket connections: `throttleConnection()`, which a gateway
 * calls first in `handleConnection`, runs the throttles declared there with
 * the module's stores, holds the client's messages meanwhile, and ends the
 * connection when they refuse it.
 */
import { Logger, type ExecutionContext } from '@nestjs/common';
import type { ContextId } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { REQUEST_CONTEXT_ID } from '@nestjs/core/router/request/request-constants';
import { checkThrottles } from '../guard/check-throttles';
import type { RoutePlan } from '../guard/route-plans';
import { gateConnection } from './connection-gate';
import { failurePayload } from './throttled-payload';
import type { GatewayClient } from './ws.context';

/** The `ws` upgrade request, or anything with its headers and socket. */
export interface UpgradeRequest {
  headers?: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

/** A gateway that throttles its connections in `handleConnection`. */
export interface ThrottledGateway {
  handleConnection(...args: never[]): unknown;
}

const logger = new Logger('RestflowThrottle');
/** Gateways reported for calling `throttleConnection()` without connection throttles: once each, not per connection. */
const reported = new WeakSet<Function>();

/**
 * Throttles a new connection with the throttles declared on the gateway's
 * `handleConnection` (`@Throttle([...])`, checked at startup like every
 * handler's), using the module's throttles and stores. Call it first in
 * `handleConnection`, before any `await`: from then on the client's messages
 * wait until the connection is decided (Nest would otherwise handle them
 * meanwhile). Allowed, they are handled in order. Refused, the client gets
 * Nest's `exception` event (DRF's detail, `code: 'THROTTLED'`, `retryAfter`)
 * and the connection is over at once (`ws`: close code 1013, "Try Again
 * Later", then the socket is closed without waiting for the client's answer),
 * so none of its messages is ever handled; the promise then resolves
 * `false`. It never rejects, so `handleConnection` needs no `try`.
 *
 * On `ws`, pass the upgrade request (Nest's second argument of
 * `handleConnection`): it is kept as `client.request`, as socket.io does, so
 * the message throttles of this connection see the handshake's
 * `X-Forwarded-For` too (`numProxies`).
 */
export async function throttleConnection(
  gateway: ThrottledGateway,
  client: object,
  request?: UpgradeRequest,
): Promise<boolean> {
  const socket = client as GatewayClient;
  if (request !== undefined && socket.handshake === undefined && socket.request === undefined) socket.request = request;
  const classRef = gateway.constructor;
  const plan = connectionPlans.get(gateway) ?? perConnectionPlan(gateway, client);
  if (plan === null) {
    const message =
      `throttleConnection(): ${classRef.name} is built per connection by several applications and none of them ` +
      'built this one, so its throttles are unknown: the connection is refused.';
    gateConnection(client).refuse(refusal(new Error(message)));
    return false;
  }
  if (plan === undefined) {
    if (reported.has(classRef)) return true;
    reported.add(classRef);
    logger.error(
      `throttleConnection(): ${classRef.name}.handleConnection has no throttles: decorate it with @Throttle([...]) ` +
        '(and import RestflowThrottleModule). The connection is allowed.',
    );
    return true;
  }
  // Before the first await: Nest binds the client's message handlers as soon as this returns its promise.
  const gate = gateConnection(client);
  try {
    if (plan.steps.length > 0) {
      await checkThrottles(plan, new ConnectionContext(classRef, plan.handler, [client, undefined, 'connection']));
    }
  } catch (error) {
    gate.refuse(refusal(error));
    return false;
  }
  gate.allow();
  return true;
}

/**
 * At startup, the plan of each gateway instance's `handleConnection`.
 * `throttleConnection()` is called with the gateway instance, which belongs
 * to one application, so this finds that application's throttles and stores.
 */
const connectionPlans = new WeakMap<object, RoutePlan>();

/**
 * The plans of gateways Nest builds per connection (request-scoped, or
 * depending on a request-scoped provider), by class: each connection gets a
 * new instance, so the instance cannot be registered at startup. The
 * application that built it is the one whose provider holds it for the
 * connection's context (set on the client by Nest).
 */
const perConnectionPlans = new Map<Function, Set<PerConnectionPlan>>();

interface PerConnectionPlan {
  readonly plan: RoutePlan;
  readonly provider: InstanceWrapper;
}

/** @internal Called by the module's planner for each throttled `handleConnection` of a gateway built once. */
export function registerConnectionThrottle(gateway: object, plan: RoutePlan): void {
  connectionPlans.set(gateway, plan);
}

/**
 * @internal Called by the module's planner for each throttled `handleConnection` of a gateway Nest builds per
 * connection. Returns what undoes it, for when the application closes.
 */
export function registerPerConnectionThrottle(provider: InstanceWrapper, plan: RoutePlan): () => void {
  const entry: PerConnectionPlan = { plan, provider };
  const entries = perConnectionPlans.get(plan.controller) ?? new Set<PerConnectionPlan>();
  perConnectionPlans.set(plan.controller, entries.add(entry));
  return () => {
    entries.delete(entry);
    if (entries.size > 0 || perConnectionPlans.get(plan.controller) !== entries) return;
    perConnectionPlans.delete(plan.controller);
  };
}

/**
 * The plan of a gateway built for this connection: `undefined` when its class
 * has none, `null` when several applications have one and none built this
 * instance (refused rather than let through).
 */
function perConnectionPlan(gateway: object, client: object): RoutePlan | null | undefined {
  const entries = perConnectionPlans.get(gateway.constructor);
  if (entries === undefined) return undefined;
  const contextId = (client as { [REQUEST_CONTEXT_ID]?: ContextId })[REQUEST_CONTEXT_ID];
  for (const { plan, provider } of entries) {
    if (contextId === undefined) break;
    if (provider.getExistingInstancesByContextId(contextId).some((host) => host.instance === gateway)) return plan;
  }
  // One application with this gateway (a durable one keeps its instance under another context): that one.
  return entries.size === 1 ? [...entries][0].plan : null;
}

/** The `exception` event's payload for a refused connection: the 429 (or 503), or an internal error (logged). */
function refusal(error: unknown): unknown {
  const payload = (error as { getError?(): unknown } | null)?.getError?.();
  if (typeof payload === 'object' && payload !== null) return payload;
  const failure = failurePayload(error);
  if (failure !== undefined) return { ...failure, cause: { pattern: 'connection', data: undefined } };
  logger.error(error);
  return { status: 'error', message: 'Internal server error' };
}

/** The context the route guard runs in for a connection: a `ws` context of `[client, undefined, 'connection']`. */
class ConnectionContext implements ExecutionContext {
  constructor(
    private readonly classRef: Function,
    private readonly handler: Function,
    private readonly args: unknown[],
  ) {}

  getClass<T>(): T {
    return this.classRef as T;
  }
  getHandler(): Function {
    return this.handler;
  }
  getArgs<T extends unknown[]>(): T {
    return this.args as T;
  }
  getArgByIndex<T>(index: number): T {
    return this.args[index] as T;
  }
  getType<T extends string>(): T {
    return 'ws' as T;
  }
  switchToWs(): ReturnType<ExecutionContext['switchToWs']> {
    return {
      getClient: <T>() => this.args[0] as T,
      getData: <T>() => this.args[1] as T,
      getPattern: () => 'connection',
    };
  }
  switchToHttp(): ReturnType<ExecutionContext['switchToHttp']> {
    throw new Error('a WebSocket connection is not an HTTP request');
  }
  switchToRpc(): ReturnType<ExecutionContext['switchToRpc']> {
    throw new Error('a WebSocket connection is not an RPC message');
  }
}
