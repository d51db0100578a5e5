/** The pure parts of the bench (tested by test/bench/harness.spec.ts): no process, no clock. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Why results may not be written, or `null`: numbers must name a commit that
 * holds exactly the code that produced them, so `git status --porcelain` must
 * be empty (untracked files included: a stray file can be imported).
 */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  if (changed.length === 0) return null;
  const shown = changed.slice(0, 10).map((line) => `  ${line}`);
  if (changed.length > 10) shown.push(`  ... and ${changed.length - 10} more`);
  return `npm run bench writes bench/RESULTS.md only from a clean tree, so that its commit is the code measured.\nCommit or remove these first (or run BENCH_QUICK=1 npm run bench for a smoke run that writes elsewhere):\n${shown.join('\n')}`;
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export function clientAddress(n: number): string {
  const i = n + 1;
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** One measured HTTP run. */
export interface HttpSample {
  platform: string;
  keys: number;
  limiter: string;
  round: number;
  /** 2xx answers per second. */
  rps: number;
  /** Server CPU seconds per 2xx answer. */
  cpuPerRequest: number;
}

/** A limiter's throughput against no guard in the same round, by requests/s and by server CPU per request. */
export interface Ratio {
  rps: number[];
  cpu: number[];
}

/**
 * Ratios to the `none` run of the same platform, key count and round (runs
 * of one round are interleaved, so drift falls on all of them alike), keyed
 * `platform|keys|limiter`.
 */
export function ratiosToBaseline(samples: readonly HttpSample[]): Map<string, Ratio> {
  const out = new Map<string, Ratio>();
  for (const s of samples) {
    const base = samples.find((b) => b.limiter === 'none' && b.platform === s.platform && b.keys === s.keys && b.round === s.round);
    if (base === undefined) continue;
    const id = `${s.platform}|${s.keys}|${s.limiter}`;
    const ratio = out.get(id) ?? { rps: [], cpu: [] };
    ratio.rps.push(s.rps / base.rps);
    ratio.cpu.push(base.cpuPerRequest / s.cpuPerRequest);
    out.set(id, ratio);
  }
  return out;
}

/** `0.91x (0.88-0.96)`: median and spread over rounds. */
export function formatRatio(values: readonly number[]): string {
  if (values.length === 0) return '-';
  const x = (v: number) => v.toFixed(2);
  return values.length === 1 ? `${x(values[0])}x` : `${x(median(values))}x (${x(Math.min(...values))}-${x(Math.max(...values))})`;
}

/** A Markdown table. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
