/**
 * Where the module puts {@link ThrottleGuard}: last among a throttled
 * handler's guards, resolved per application to that application's guard.
 *
 * Nest reads a handler's guards from metadata that belongs to the class, so
 * it is shared by every application built from that class. What is placed
 * there is only the guard *class*; Nest resolves a guard class in the
 * handler's module, per application, and each application points that
 * module's `ThrottleGuard` at its own instance. Several applications alive
 * at once therefore share the metadata and nothing else, and the class is
 * taken out again when the last of them closes.
 */
import { GUARDS_METADATA } from '@nestjs/common/constants';
import { STATIC_CONTEXT } from '@nestjs/core/injector/constants';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import type { Module } from '@nestjs/core/injector/module';
import { ThrottleGuard } from '../guard/throttle.guard';

/** Which applications hold the placed class on a handler, and whether the module added it (or found it last already). */
const PLACEMENT_METADATA = 'restflow:throttle-guard-placement';

interface Placement {
  readonly owners: Set<object>;
  readonly appended: boolean;
}

/** Puts `ThrottleGuard` last among the handler's guards (once, whatever the number of applications). */
export function placeGuard(handler: Function, owner: object): void {
  const placement = Reflect.getMetadata(PLACEMENT_METADATA, handler) as Placement | undefined;
  if (placement !== undefined) {
    placement.owners.add(owner);
    return;
  }
  const guards = (Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? [];
  const appended = guards.at(-1) !== ThrottleGuard;
  if (appended) Reflect.defineMetadata(GUARDS_METADATA, [...guards, ThrottleGuard], handler);
  Reflect.defineMetadata(PLACEMENT_METADATA, { owners: new Set([owner]), appended } satisfies Placement, handler);
}

/** The application `owner` closed: the class leaves the handler when no application holds it any more. */
export function removeGuard(handler: Function, owner: object): void {
  const placement = Reflect.getMetadata(PLACEMENT_METADATA, handler) as Placement | undefined;
  if (placement === undefined || !placement.owners.delete(owner) || placement.owners.size > 0) return;
  Reflect.deleteMetadata(PLACEMENT_METADATA, handler);
  if (!placement.appended) return;
  const guards = (Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? [];
  const at = guards.lastIndexOf(ThrottleGuard);
  if (at < 0) return;
  const rest = guards.filter((_, i) => i !== at);
  if (rest.length > 0) Reflect.defineMetadata(GUARDS_METADATA, rest, handler);
  else Reflect.deleteMetadata(GUARDS_METADATA, handler);
}

/**
 * Makes the handler's module resolve `ThrottleGuard` to the application's own
 * instance: the one `app.get(ThrottleGuard)` returns, already built, so no
 * module is ever left with an unbuilt guard that Nest would skip.
 *
 * The module may already hold a registration of its own: Nest scanned this
 * application after another one had placed the class on the handler. Nest
 * loads it later (after the module's slow providers), and its injector builds
 * a class into the wrapper the module names for it *when loading starts*: that
 * would be ours, overwritten by a guard without plans, and every route of the
 * module unthrottled. So that registration is given our instance as already
 * built, which Nest then leaves alone; one whose loading has started writes
 * into itself, no longer the module's.
 */
export function resolveGuardIn(host: Module, guard: InstanceWrapper): void {
  const registered = host.injectables.get(ThrottleGuard);
  if (registered !== undefined && registered !== guard) {
    const built = registered.getInstanceByContextId(STATIC_CONTEXT);
    if (!built.isResolved && !built.isPending) {
      registered.setInstanceByContextId(STATIC_CONTEXT, { instance: guard.instance as never, isResolved: true });
    }
  }
  host.injectables.set(ThrottleGuard, guard as InstanceWrapper<never>);
}

/** How many times a handler's own metadata (its class's and its method's) binds `ThrottleGuard`. */
export function guardBindings(controller: Function, handler: Function): number {
  const count = (target: Function) =>
    ((Reflect.getMetadata(GUARDS_METADATA, target) as unknown[] | undefined) ?? []).filter((g) => g === ThrottleGuard)
      .length;
  return count(controller) + count(handler);
}
