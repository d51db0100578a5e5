import { GUARDS_METADATA } from '@nestjs/common/constants';
import type { ActionConfigMap, ActionConfigOptions } from './decorators/action-config.decorator';
import { ImproperlyConfiguredError } from './exceptions/improperly-configured.error';
import { ACTION_CONFIG_METADATA, THROTTLE_SCOPE_METADATA, THROTTLES_METADATA } from './restflow-throttle.constants';
import type { BaseThrottle, ThrottleType } from './throttles/base.throttle';

/** A handler's throttling, resolved once: which throttle classes, which scope, where the guard is bound. */
export interface HandlerThrottling {
  readonly throttleTypes: readonly ThrottleType[];
  readonly scope: string | undefined;
  /** `ThrottleGuard` is bound with `@UseGuards` on this route, so the global one stands aside. */
  readonly guardOnRoute: boolean;
}

/** A handler's throttling with its throttle singletons. */
export interface ThrottlePlan extends HandlerThrottling {
  readonly throttles: readonly BaseThrottle[];
}

/**
 * Reads the decorators of one handler with the SPEC's precedence (first
 * defined wins):
 * throttles: method `@ActionConfig` > class `@ActionConfig[method]` > method
 * `@Throttle` > class `@Throttle` > `defaultThrottles`; the scope likewise.
 */
export function resolveHandlerThrottling(
  controller: Function,
  handler: Function,
  defaults: readonly ThrottleType[],
  isThrottleGuard: (guard: unknown) => boolean,
): HandlerThrottling {
  const methodConfig = Reflect.getMetadata(ACTION_CONFIG_METADATA, handler) as ActionConfigOptions | undefined;
  const classMap = Reflect.getMetadata(ACTION_CONFIG_METADATA, controller) as ActionConfigMap | undefined;
  const classConfig = classMap !== undefined && Object.hasOwn(classMap, handler.name) ? classMap[handler.name] : undefined;

  const throttleTypes =
    methodConfig?.throttles ??
    classConfig?.throttles ??
    (Reflect.getMetadata(THROTTLES_METADATA, handler) as ThrottleType[] | undefined) ??
    (Reflect.getMetadata(THROTTLES_METADATA, controller) as ThrottleType[] | undefined) ??
    defaults;
  const scope =
    methodConfig?.throttleScope ??
    classConfig?.throttleScope ??
    (Reflect.getMetadata(THROTTLE_SCOPE_METADATA, handler) as string | undefined) ??
    (Reflect.getMetadata(THROTTLE_SCOPE_METADATA, controller) as string | undefined);

  const guards = [
    ...((Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[] | undefined) ?? []),
    ...((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? []),
  ].filter(isThrottleGuard);
  if (guards.length > 1) {
    throw new ImproperlyConfiguredError(
      `ThrottleGuard is bound ${guards.length} times on ${describeHandler(controller, handler)} (@UseGuards on the controller and on the handler): every request would be counted ${guards.length} times. Bind it once.`,
    );
  }
  return { throttleTypes: [...throttleTypes], scope, guardOnRoute: guards.length === 1 };
}

/** `ArticlesController.list`, for error messages. */
export function describeHandler(controller: Function, handler: Function): string {
  return `${controller.name}.${handler.name}`;
}
