/**
 * The buckets a throttle (a class, or a scope) keeps for one client in an app, found from the app's route plans
 * the way that client's requests find them.
 */
import type { Type } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { RoutePlan } from '../guard/route-plans';
import { ClientAddressUnknownError } from '../identity/client-ident';
import type { ThrottleType } from '../throttles/base.throttle';
import type { PlannedHit } from '../throttles/rate';
import { SimpleRateThrottle } from '../throttles/simple-rate.throttle';
import { clientRequest, type ThrottleClient } from './admin-client';

/** A throttle as `ThrottleAdmin` takes it: its class (`UserRateThrottle`) or its scope (`'uploads'`). */
export type ThrottleRef = ThrottleType | string;

/** One bucket of one client: where the throttle counts it, and on which routes. */
export interface ClientBucket {
  /** The route-bound throttle that found it (its clock is the one its hits are decided at). */
  readonly throttle: SimpleRateThrottle;
  /** What a request of the client would send the store (its cost and block are not the admin's). */
  readonly planned: PlannedHit;
  readonly routes: string[];
}

/**
 * Every bucket `throttle` keeps for `client`, one per store and key (routes
 * that share a bucket are listed together). Each route's throttle is asked
 * as a request of the client would ask it: its rate (`getRequestRate()`
 * included), its key and its store, through `planHit()`.
 *
 * @throws ImproperlyConfiguredError `RFT_ADMIN_UNKNOWN_THROTTLE` when no route counts with that throttle,
 *   `RFT_ADMIN_NOT_COUNTED` when it counts none of the client's requests.
 */
export async function clientBuckets(
  plans: readonly RoutePlan[],
  ref: ThrottleRef,
  client: ThrottleClient,
): Promise<ClientBucket[]> {
  const found = new Map<unknown, Map<string, ClientBucket>>();
  let matched = 0;
  for (const plan of plans) {
    if (client.route !== undefined && plan.name !== client.route) continue;
    for (const step of plan.steps) {
      const throttle = step.throttle;
      if (!(throttle instanceof SimpleRateThrottle) || !matches(throttle, ref)) continue;
      matched++;
      const planned = await planFor(throttle, plan, client);
      if (planned === null) continue;
      const keys = found.get(planned.store) ?? new Map<string, ClientBucket>();
      found.set(planned.store, keys);
      const known = keys.get(planned.hit.key);
      if (known === undefined) keys.set(planned.hit.key, { throttle, planned, routes: [plan.name] });
      else if (!known.routes.includes(plan.name)) known.routes.push(plan.name);
    }
  }
  if (matched === 0) throw unknownThrottle(plans, ref, client.route);
  const buckets = [...found.values()].flatMap((keys) => [...keys.values()]);
  if (buckets.length === 0) {
    throw new ImproperlyConfiguredError(
      `ThrottleAdmin: ${describeRef(ref)} counts none of this client's requests (its getCacheKey() gives no key ` +
        'for them, or its rate for them is null): name the client as its requests do (user or address).',
      'RFT_ADMIN_NOT_COUNTED',
    );
  }
  return buckets;
}

/** Its class exactly (a subclass is another throttle), or its scope (a ScopedRateThrottle's route scope too). */
function matches(throttle: SimpleRateThrottle, ref: ThrottleRef): boolean {
  return typeof ref === 'string' ? throttle.scope === ref : throttle.constructor === ref;
}

/** What a request of the client, on this route, would send the store; `null` when it would not count. */
async function planFor(
  throttle: SimpleRateThrottle,
  plan: RoutePlan,
  client: ThrottleClient,
): Promise<PlannedHit | null> {
  const request = clientRequest(client);
  const context = new ExecutionContextHost([request, {}], plan.controller as Type, plan.handler);
  try {
    return await throttle.planHit(request, context);
  } catch (error) {
    if (!(error instanceof ClientAddressUnknownError)) throw error;
    throw new ImproperlyConfiguredError(
      `ThrottleAdmin: '${throttle.constructor.name}' keys this client by its IP address on ${plan.name}: ` +
        'give its `address`.',
      'RFT_ADMIN_INVALID_ARGUMENT',
    );
  }
}

function unknownThrottle(
  plans: readonly RoutePlan[],
  ref: ThrottleRef,
  route: string | undefined,
): ImproperlyConfiguredError {
  const known = new Set<string>();
  for (const plan of plans) {
    for (const { throttle } of plan.steps) {
      if (throttle instanceof SimpleRateThrottle) known.add(`${throttle.constructor.name} (scope '${throttle.scope}')`);
    }
  }
  const what = describeRef(ref);
  const where =
    route === undefined
      ? `no route of this app counts with ${what}`
      : `the route '${route}' does not count with ${what} (or is not a route of this app)`;
  const list = known.size === 0 ? 'none' : [...known].sort().join(', ');
  return new ImproperlyConfiguredError(
    `ThrottleAdmin: ${where}. The rate throttles in use: ${list}.`,
    'RFT_ADMIN_UNKNOWN_THROTTLE',
  );
}

/** `'UserRateThrottle'`, or `scope 'uploads'`. */
export function describeRef(ref: ThrottleRef): string {
  return typeof ref === 'string' ? `scope '${ref}'` : `'${ref?.name ?? String(ref)}'`;
}
