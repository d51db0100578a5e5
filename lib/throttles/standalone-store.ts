/** The store of a rate throttle used without RestflowThrottleModule (a throttle unit-tested on its own). */
import { ImproperlyConfiguredError } from '../exceptions/improperly-configured.error';
import type { ThrottleCacheLike } from '../module/options';
import { MemoryThrottleStore } from '../stores/memory/memory.store';
import type { ThrottleStore } from '../stores/throttle-store';

/** The store the throttle names (a `ThrottleStore`), or a memory store of its own; an alias needs the module. */
export function standaloneStore(cache: ThrottleCacheLike | string | undefined, throttle: string): ThrottleStore {
  if (typeof cache === 'object' && typeof (cache as Partial<ThrottleStore>).hit === 'function')
    return cache as ThrottleStore;
  if (cache !== undefined) {
    const message = `'${throttle}' names a cache, but is not used through RestflowThrottleModule.`;
    throw new ImproperlyConfiguredError(message, 'RFT_CACHE_OUTSIDE_MODULE');
  }
  return new MemoryThrottleStore();
}
