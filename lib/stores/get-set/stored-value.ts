/**
 * The get/set store's value format: what a key holds in a get/set cache, read into the states of
 * algorithms.ts and written back. DRF's format (the history list, newest first) for the sliding log and
 * one number (the theoretical arrival time) for GCRA; a blocked key wraps either as
 * `{ blockedUntil, value }`. Values written before blocks existed are read as they always were.
 */
import { emptyLog, historyOf, type GcraState, type SlidingLog } from '../algorithms';

/** A blocked key's value: the block's end (the decision clock, seconds) and the counting state as it would be. */
export interface BlockedValue {
  readonly blockedUntil: number;
  readonly value: number[] | number;
}

/** A log from a stored value; anything else (a GCRA number, nothing, garbage) is an empty log. */
export function logFromValue(stored: unknown): SlidingLog {
  const { value, blockedUntil } = unwrap(stored);
  if (!Array.isArray(value)) return { ...emptyLog(), blockedUntil };
  const stamps = value.filter(isTime).reverse();
  if (stamps.length === 0) return { ...emptyLog(), blockedUntil };
  return { stamps, head: 0, count: stamps.length, blockedUntil };
}

/** GCRA's state from a stored value: anything but a finite number is a key never admitted. */
export function gcraFromValue(stored: unknown): GcraState {
  const { value, blockedUntil } = unwrap(stored);
  return { tat: isTime(value) ? value : -Infinity, blockedUntil };
}

/** A log's value: its history, wrapped while it is blocked at `now`. */
export function valueOfLog(log: SlidingLog, now: number): number[] | BlockedValue {
  const history = historyOf(log);
  return log.blockedUntil > now ? { blockedUntil: log.blockedUntil, value: history } : history;
}

/** GCRA's value: its `tat` (`[]`, an empty value, if never admitted), wrapped while it is blocked at `now`. */
export function valueOfGcra(state: GcraState, now: number): number | number[] | BlockedValue {
  const tat = Number.isFinite(state.tat) ? state.tat : [];
  return state.blockedUntil > now ? { blockedUntil: state.blockedUntil, value: tat } : tat;
}

/** The counting value inside a stored one, and its block (`-Infinity` for none). */
function unwrap(stored: unknown): { value: unknown; blockedUntil: number } {
  if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) {
    const { blockedUntil, value } = stored as Partial<Record<keyof BlockedValue, unknown>>;
    if (isTime(blockedUntil)) return { value, blockedUntil };
  }
  return { value: stored, blockedUntil: -Infinity };
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
