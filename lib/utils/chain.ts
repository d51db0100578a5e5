/**
 * Any promise-like value, whatever realm or library made it: `instanceof
 * Promise` misreads Bluebird, another realm's promises and a library's own
 * thenables, so user code's answers are tested by shape.
 */
export function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}
