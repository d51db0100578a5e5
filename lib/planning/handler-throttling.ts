/**
 * Which throttles and scope a handler has, read from its decorators with the
 * SPEC's precedence, once at startup.
 */
import type { ActionConfigMap, ActionConfigOptions } from '../decorators/action-config.decorator';
import { PeerOptions } from '../decorators/peer-options';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import {
  ACTION_CONFIG_METADATA,
  THROTTLE_COST_METADATA,
  THROTTLE_SCOPE_METADATA,
  THROTTLES_METADATA,
} from '../module/constants';
import type { ThrottleType } from '../throttles/base.throttle';
import { checkCostLiteral, type RequestCost } from '../throttles/request-cost';

/** A handler's throttling as its decorators say it, read once at startup. */
export interface HandlerThrottling {
  readonly throttleTypes: readonly ThrottleType[];
  readonly scope: string | undefined;
  /** `true` when the handler or its class declares its throttles; `false` when they are the module's defaults. */
  readonly declared: boolean;
  /** `@ThrottleCost()` of the method, else of the class: what each request counts as; `undefined`: 1. */
  readonly cost: RequestCost | undefined;
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
): HandlerThrottling {
  for (const target of [handler, controller]) {
    const value: unknown = Reflect.getMetadata(THROTTLES_METADATA, target);
    if (value instanceof PeerOptions) {
      throw new ImproperlyConfiguredError(
        `${value.decorator}(${JSON.stringify(value.options) ?? String(value.options)}) on ${describeHandler(controller, handler)} ` +
          `is @nestjs/throttler's form. ${value.advice()}`,
        'RFT_PEER_DECORATOR',
      );
    }
  }
  const methodConfig = Reflect.getMetadata(ACTION_CONFIG_METADATA, handler) as ActionConfigOptions | undefined;
  const classMap = Reflect.getMetadata(ACTION_CONFIG_METADATA, controller) as ActionConfigMap | undefined;
  const classConfig =
    classMap !== undefined && Object.hasOwn(classMap, handler.name) ? classMap[handler.name] : undefined;

  const declared =
    methodConfig?.throttles ??
    classConfig?.throttles ??
    (Reflect.getMetadata(THROTTLES_METADATA, handler) as ThrottleType[] | undefined) ??
    (Reflect.getMetadata(THROTTLES_METADATA, controller) as ThrottleType[] | undefined);
  const scope =
    methodConfig?.throttleScope ??
    classConfig?.throttleScope ??
    (Reflect.getMetadata(THROTTLE_SCOPE_METADATA, handler) as string | undefined) ??
    (Reflect.getMetadata(THROTTLE_SCOPE_METADATA, controller) as string | undefined);

  const ownCost: unknown = Reflect.getMetadata(THROTTLE_COST_METADATA, handler);
  // `!== undefined`, not `??`: @ThrottleCost(null) is a mistake to report, not a cost left unsaid.
  const rawCost = ownCost !== undefined ? ownCost : Reflect.getMetadata(THROTTLE_COST_METADATA, controller);
  const cost = rawCost === undefined ? undefined : checkCostLiteral(rawCost, describeHandler(controller, handler));

  return { throttleTypes: [...(declared ?? defaults)], scope, declared: declared !== undefined, cost };
}

/** `ArticlesController.list`, for error messages. */
export function describeHandler(controller: Function, handler: Function): string {
  return `${controller.name}.${handler.name}`;
}
