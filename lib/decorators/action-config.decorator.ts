/** `@ActionConfig()`: a handler's own throttles and scope, DRF's per-action configuration. */
import { ACTION_CONFIG_METADATA } from '../module/constants';
import type { ThrottleType } from '../throttles/base.throttle';

/** One handler's throttling override, as restflow's `ActionConfig`. */
export interface ActionConfigOptions {
  /** Replaces the controller's throttles for this handler. */
  throttles?: ThrottleType[];
  /** The scope `ScopedRateThrottle` uses for this handler. */
  throttleScope?: string;
}

/** Per-handler overrides keyed by method name, for the class form. */
export type ActionConfigMap = Record<string, ActionConfigOptions>;

const FIELDS = new Set(['throttles', 'throttleScope']);

/**
 * restflow's per-action configuration. On a handler it overrides that
 * handler's throttles and scope; on a controller it takes a map of method
 * name to override. Either wins over `@Throttle`/`@ThrottleScope`.
 *
 * @example
 * ```ts
 * @ActionConfig({ list: { throttles: [ScopedRateThrottle], throttleScope: 'list' } })
 * @Throttle([UserRateThrottle])
 * @Controller('articles')
 * export class ArticleViewSet {
 *   @ActionConfig({ throttleScope: 'destroy', throttles: [ScopedRateThrottle] })
 *   @Delete(':id') destroy() {}
 * }
 * ```
 */
export function ActionConfig(config: ActionConfigOptions): MethodDecorator;
export function ActionConfig(map: ActionConfigMap): ClassDecorator;
export function ActionConfig(config: ActionConfigOptions | ActionConfigMap): ClassDecorator & MethodDecorator {
  return (target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor !== undefined && propertyKey !== undefined) {
      checkOptions(config, `@ActionConfig on ${String(propertyKey)}`);
      Reflect.defineMetadata(ACTION_CONFIG_METADATA, { ...config }, descriptor.value as object);
      return;
    }
    const name = (target as { name?: string }).name ?? 'a controller';
    if (typeof config !== 'object' || config === null) {
      throw new TypeError(`@ActionConfig on ${name} takes a map of method name to { throttles?, throttleScope? }.`);
    }
    for (const [method, options] of Object.entries(config)) {
      checkOptions(options, `@ActionConfig on ${name}, method '${method}'`);
    }
    Reflect.defineMetadata(ACTION_CONFIG_METADATA, { ...config }, target);
  };
}

function checkOptions(options: unknown, where: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: expected { throttles?, throttleScope? }, got ${JSON.stringify(options)}.`);
  }
  for (const field of Object.keys(options)) {
    if (!FIELDS.has(field)) {
      throw new TypeError(`${where}: unknown field '${field}'; expected throttles and/or throttleScope.`);
    }
  }
  const { throttles, throttleScope } = options as ActionConfigOptions;
  if (throttles !== undefined && !Array.isArray(throttles)) {
    throw new TypeError(`${where}: throttles must be an array of throttle classes.`);
  }
  if (throttleScope !== undefined && (typeof throttleScope !== 'string' || throttleScope === '')) {
    throw new TypeError(`${where}: throttleScope must be a non-empty string.`);
  }
}
