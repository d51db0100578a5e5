/**
 * Which classes of an app serve handlers (controllers, and providers however
 * they are provided), and which of their methods are handlers the throttles
 * can run on: read once at startup, from Nest's container and metadata.
 */
import type { ModulesContainer } from '@nestjs/core';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { handlerKind } from '../contexts';
import {
  ACTION_CONFIG_METADATA,
  THROTTLE_COST_METADATA,
  THROTTLE_SCOPE_METADATA,
  THROTTLES_METADATA,
} from '../module/constants';

/**
 * Waits until every other static provider of the app is built, so a class
 * provided with `useFactory` is known by its instance. Nest starts building
 * every provider at once; nothing depends on the module's `ROUTE_GUARDS`, so
 * this cannot wait on itself
 * (`except` is that provider's token).
 */
export async function providersBuilt(modules: ModulesContainer, except: unknown): Promise<void> {
  for (;;) {
    const pending: Array<Promise<unknown>> = [];
    for (const module of modules.values()) {
      for (const wrapper of module.providers.values()) {
        if (wrapper.token === except || wrapper.isAlias || wrapper.isTransient || !wrapper.isDependencyTreeStatic())
          continue;
        const host = wrapper.getInstanceByContextId(STATIC_CONTEXT);
        if (!host.isResolved && host.isPending && host.donePromise !== undefined) pending.push(host.donePromise);
      }
    }
    if (pending.length === 0) return;
    await Promise.all(pending);
  }
}

/** The class whose methods a provider or controller serves: its own class, or the class of what its factory or value is. */
export function classOf(wrapper: InstanceWrapper): Function | undefined {
  if (wrapper.isAlias) return undefined;
  const type =
    wrapper.isFactory || !wrapper.metatype
      ? (wrapper.instance as object | null | undefined)?.constructor
      : wrapper.metatype;
  return typeof type === 'function' && type.prototype !== undefined && type !== Object ? type : undefined;
}

/**
 * The methods of a class, each with whether it is a handler the throttles can
 * run on: HTTP routes and microservice handlers of controllers; resolvers and
 * gateway handlers of providers.
 */
export function methodsOf(type: Function, isController: boolean): Array<[Function, boolean]> {
  const methods: Array<[Function, boolean]> = [];
  const seen = new Set<string>();
  for (
    let proto = type.prototype as object | null;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || seen.has(name)) continue;
      seen.add(name);
      const handler = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (typeof handler !== 'function') continue;
      const kind = handlerKind(type, handler);
      methods.push([
        handler,
        kind !== undefined && (isController ? kind === 'http' || kind === 'rpc' : kind === 'graphql' || kind === 'ws'),
      ]);
    }
  }
  return methods;
}

/** Throttle decorators on the method itself (a class's own apply to its handlers only). */
export function declaresThrottling(handler: Function): boolean {
  return [THROTTLES_METADATA, THROTTLE_SCOPE_METADATA, ACTION_CONFIG_METADATA, THROTTLE_COST_METADATA].some(
    (key) => Reflect.getMetadata(key, handler) !== undefined,
  );
}
