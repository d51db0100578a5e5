/**
 * Sync-or-async values. Throttles, keys, rates and stores may each answer at
 * once or later; the request path stays synchronous (no promise, no
 * microtask) for as long as every answer is immediate.
 */

/**
 * Any promise-like value, whatever realm or library made it: `instanceof
 * Promise` misreads Bluebird, another realm's promises and a library's own
 * thenables, so user code's answers are tested by shape.
 */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<T>).then === 'function'
  );
}

/** `next(value)` now when `value` is already there, else once it settles (a rejection skips `next`). */
export function chain<T, R>(value: T | PromiseLike<T>, next: (value: T) => R | PromiseLike<R>): R | Promise<R> {
  return isThenable<T>(value) ? Promise.resolve(value).then(next) : (next(value) as R | Promise<R>);
}
