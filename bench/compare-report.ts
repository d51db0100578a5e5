/** The pure part of `npm run bench:compare`: per-round ratios of two builds' runs into a table (test/bench/). */
import { median, table } from './report';

/** One HTTP run's numbers: answers a second and the server's CPU time per answer (µs). */
export interface RunNumbers {
  readonly rps: number;
  readonly cpu: number;
}

/** `runs['10000 ours-redis']`: per round, this tree's run (`own`) and the other commit's (`other`). */
export type PairedRuns = Record<string, Array<{ own: RunNumbers; other: RunNumbers }>>;

/** `0.97x (0.91-1.04)`: the median and the spread of `values`. */
function spread(values: readonly number[]): string {
  const x = (value: number) => value.toFixed(2);
  return `${x(median(values))}x (${x(Math.min(...values))}-${x(Math.max(...values))})`;
}

/**
 * A row per scenario and limiter: both builds' median CPU time per answer, and the medians (and spreads) over rounds
 * of this tree's CPU per answer over the other's (below 1: this tree costs less) and of its answers a second over
 * the other's (above 1: it answers more). A ratio of two runs made side by side cancels the machine's drift, which
 * the medians of separate runs do not.
 */
export function comparisonTable(runs: PairedRuns, own: string, other: string): string {
  const rows = Object.entries(runs).map(([run, pairs]) => ({
    run,
    [`${own}: µs/answer`]: median(pairs.map((p) => p.own.cpu)).toFixed(1),
    [`${other}: µs/answer`]: median(pairs.map((p) => p.other.cpu)).toFixed(1),
    [`CPU per answer, ${own} / ${other}`]: spread(pairs.map((p) => p.own.cpu / p.other.cpu)),
    [`answers a second, ${own} / ${other}`]: spread(pairs.map((p) => p.own.rps / p.other.rps)),
  }));
  return table(rows);
}
