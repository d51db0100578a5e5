/** One instance per throttle class, from Nest's DI, built once per app with its dependencies injected. */
import type { ModuleRef } from '@nestjs/core';
import type { Type } from '@nestjs/common';
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import { BaseThrottle, type ThrottleType } from '../throttles/base.throttle';

/**
 * One instance per throttle class, from Nest's DI: the registered provider
 * when there is one (in any module), else built once by Nest in the module
 * of the handler that uses it, with its dependencies (constructor and
 * properties) injected. Anything Nest cannot build fails the app's start,
 * naming the class and what is missing.
 */
export class ThrottleInstances {
  private readonly instances = new Map<ThrottleType, BaseThrottle>();

  constructor(private readonly rootRef: ModuleRef) {}

  async of(type: ThrottleType, hostRef: ModuleRef): Promise<BaseThrottle> {
    const known = this.instances.get(type);
    if (known !== undefined) return known;
    checkThrottleClass(type);
    const instance = this.registered(type) ?? (await this.build(type, hostRef));
    this.instances.set(type, instance);
    return instance;
  }

  private registered(type: ThrottleType): BaseThrottle | undefined {
    try {
      return this.rootRef.get<BaseThrottle>(type as Type<BaseThrottle>, { strict: false });
    } catch {
      return undefined;
    }
  }

  private async build(type: ThrottleType, hostRef: ModuleRef): Promise<BaseThrottle> {
    try {
      return await hostRef.create(type as Type<BaseThrottle>);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const message = `Nest cannot build the throttle '${type.name}': ${reason}`;
      throw new ImproperlyConfiguredError(message, 'RFT_THROTTLE_UNBUILDABLE');
    }
  }
}

function checkThrottleClass(type: ThrottleType): void {
  if (
    typeof type !== 'function' ||
    typeof (type.prototype as Partial<BaseThrottle> | undefined)?.allowRequest !== 'function'
  ) {
    const name = typeof type === 'function' ? type.name : String(type);
    throw new ImproperlyConfiguredError(
      `'${name}' is not a throttle class: a throttle extends BaseThrottle (or SimpleRateThrottle) ` +
        'and implements allowRequest().',
      'RFT_NOT_A_THROTTLE',
    );
  }
  if (!(type.prototype instanceof BaseThrottle)) {
    throw new ImproperlyConfiguredError(
      `'${type.name}' does not extend BaseThrottle: extend BaseThrottle (or SimpleRateThrottle) ` +
        'so the module can give it its settings.',
      'RFT_NOT_A_THROTTLE',
    );
  }
  // Without a class decorator TypeScript emits no constructor types, and Nest would call it with no arguments.
  if (
    type.length > 0 &&
    Reflect.getMetadata('design:paramtypes', type) === undefined &&
    Reflect.getMetadata('self:paramtypes', type) === undefined
  ) {
    throw new ImproperlyConfiguredError(
      `The throttle '${type.name}' has constructor parameters but no @Injectable(), so Nest cannot inject them: ` +
        `add @Injectable() to ${type.name}.`,
      'RFT_THROTTLE_NOT_INJECTABLE',
    );
  }
}
