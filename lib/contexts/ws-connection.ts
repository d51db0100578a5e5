/**
 * Throttling WebSocket connections: `throttleConnection()`, which a gateway
 * calls first in `handleConnection`, runs the throttles declared there with
 * the module's stores, and refuses the connection when they deny it.
 */
import { Logger, type ExecutionContext } from '@nestjs/common';
import type { ContextId } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { REQUEST_CONTEXT_ID } from '@nestjs/core/router/request/request-constants';
import { checkThrottles } from '../guard/check-throttles';
import type { RoutePlan } from '../guard/route-plans';
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

/** What is sent and done to a refused connection: socket.io's `emit`/`disconnect`, or `ws`'s `send`/`close`. */
interface ClosableClient extends GatewayClient {
  readyState?: number;
  send?(data: string): void;
  close?(code?: number, reason?: string): void;
  emit?(event: string, payload: unknown): unknown;
  disconnect?(close?: boolean): unknown;
}

const logger = new Logger('RestflowThrottle');
/** Gateways already reported for calling `throttleConnection()` without connection throttles: once each, not per connection. */
const reported = new WeakSet<Function>();
/** WebSocket close code 1013, "Try Again Later". */
const TRY_AGAIN_LATER = 1013;

/**
 * Throttles a new connection with the throttles declared on the gateway's
 * `handleConnection` (`@Throttle([...])`, checked at startup like every
 * handler's), using the module's throttles and stores. Call it first in
 * `handleConnection`. A refused client gets Nest's `exception` event
 * (DRF's detail, `code: 'THROTTLED'`, `retryAfter`) and is disconnected
 * (`ws`: close code 1013, "Try Again Later"); the promise then resolves
 * `false`. It never rejects, so `handleConnection` needs no `try`.
 *
 * On `ws`, pass the upgrade request (Nest's second argument of
 * `handleConnection`): it is kept as `client.request`, as socket.io does, so
 * the message throttles of this connection see the handshake's
 * `X-Forwarded-For` too (`numProxies`).
 */
export async function throttleConnection(gateway: ThrottledGateway, client: object, request?: UpgradeRequest): Promise<boolean> {
  const socket = client as ClosableClient;
  if (request !== undefined && socket.handshake === undefined && socket.request === undefined) socket.request = request;
  const classRef = gateway.constructor;
  const plan = connectionPlans.get(gateway) ?? perConnectionPlan(gateway, client);
  if (plan === null) {
    const message =
      `throttleConnection(): ${classRef.name} is built per connection by several applications and none of them ` +
      'built this one, so its throttles are unknown: the connection is refused.';
    refuse(socket, new Error(message));
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
  try {
    if (plan.steps.length > 0) await checkThrottles(plan, new ConnectionContext(classRef, plan.handler, [client, undefined, 'connection']));
    return true;
  } catch (error) {
    refuse(socket, error);
    return false;
  }
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

function refuse(client: ClosableClient, error: unknown): void {
  const payload = (error as { getError?(): unknown } | null)?.getError?.();
  const failure = failurePayload(error);
  let data: unknown;
  if (typeof payload === 'object' && payload !== null) data = payload;
  else if (failure !== undefined) data = { ...failure, cause: { pattern: 'connection', data: undefined } };
  else {
    logger.error(error);
    data = { status: 'error', message: 'Internal server error' };
  }
  if (typeof client.readyState === 'number' && typeof client.send === 'function') {
    client.send(JSON.stringify({ event: 'exception', data }));
    client.close?.(TRY_AGAIN_LATER, 'Throttled');
  } else {
    client.emit?.('exception', data);
    client.disconnect?.(true);
  }
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
