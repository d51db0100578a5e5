/**
 * Per-key locks for the get/set store: one read-modify-write at a time on a key, first come first served, and
 * several keys taken in one fixed order so that two requests can never wait on each other.
 */

/**
 * A lock per key, held from a grant to its release; waiters are granted in
 * arrival order. Grants are callbacks, called at once when the key is free,
 * so an uncontended key starts its call in the same turn.
 */
export class KeyLocks {
  /** A held key's waiters (an empty list: held, no one waiting). A free key has no entry. */
  private readonly held = new Map<string, Array<() => void>>();

  /** Calls `granted` once `key` is held for the caller, who must {@link release} it. */
  acquire(key: string, granted: () => void): void {
    const waiters = this.held.get(key);
    if (waiters === undefined) {
      this.held.set(key, []);
      granted();
    } else {
      waiters.push(granted);
    }
  }

  /**
   * Calls `granted` once every key of `keys` is held, taken one after the
   * other in sorted order: every caller taking several keys takes them in
   * that order, and a single key is one of them, so no two callers can each
   * hold a key the other waits for. `keys` must be distinct.
   */
  acquireAll(keys: readonly string[], granted: () => void): void {
    const sorted = [...keys].sort();
    const next = (i: number): void => {
      if (i === sorted.length) granted();
      else this.acquire(sorted[i], () => next(i + 1));
    };
    next(0);
  }

  /** Lets the next waiter of `key` in, or frees it. */
  release(key: string): void {
    const waiters = this.held.get(key);
    if (waiters === undefined) return;
    const next = waiters.shift();
    if (next === undefined) this.held.delete(key);
    else next();
  }

  /** Whether `key` is held (tests). */
  isHeld(key: string): boolean {
    return this.held.has(key);
  }
}
