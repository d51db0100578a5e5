/**
 * DRF's wait formula. `remaining = duration - (now - oldest)` (the whole
 * duration with no history); `available = N - count + 1`; no positive
 * `available` means no estimate (`null`), else `remaining / available`.
 */
export function computeWait(state: {
  now: number;
  oldest: number | null;
  count: number;
  numRequests: number;
  duration: number;
}): number | null {
  const remaining = state.oldest === null ? state.duration : state.duration - (state.now - state.oldest);
  const available = state.numRequests - state.count + 1;
  if (available <= 0) return null;
  return remaining / available;
}

/** A wait from user code, kept only when it is a finite number >= 0 (else: no estimate). */
export function checkedWait(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}
