/** The bench's settings and its pure parts (statistics, the clean-tree rule, the report), tested by test/bench/. */
export const HTTP = { rounds: 5, warmup: 1, seconds: 3, keys: 10_000, connections: 50 };
export const DECISION_SECONDS = 1;
export const LIMITERS = ['none', 'ours-memory', 'ours-redis', 'peer-memory', 'peer-redis'];

export type Row = Record<string, string | number>;
/** One HTTP run: its 2xx answers a second. */
export type HttpSample = { platform: string; keys: number; limiter: string; round: number; rps: number };
export type Results = { commit: string; environment: string; minutes: number; samples: HttpSample[] }
  & { decisions: Row[]; memory: Row[]; worst: Row };

export function median(values: readonly number[]): number {
  const [sorted, mid] = [[...values].sort((a, b) => a - b), values.length >> 1];
  return values.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2; // NaN for none
}

/** Why results may not be written (untracked files count: a stray file can be imported), or `null`. */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  if (changed.length === 0) return null;
  return 'npm run bench writes bench/RESULTS.md only from a clean tree, so that its commit is the code measured. '
    + `Commit or remove these first:\n${changed.join('\n')}`;
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export const clientAddress = (n: number) => `10.${((n + 1) >> 16) & 255}.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

const runs = (samples: readonly HttpSample[], platform: string, keys: number, limiter: string) =>
  samples.filter((s) => s.platform === platform && s.keys === keys && s.limiter === limiter);

/** Per round, `limiter`'s requests/s over `base`'s (same platform, clients and round: drift hits both alike). */
export function ratios(samples: readonly HttpSample[], platform: string, keys: number, limiter: string, base = 'none') {
  return runs(samples, platform, keys, limiter).flatMap((s) =>
    runs(samples, platform, keys, base).filter((b) => b.round === s.round).map((b) => s.rps / b.rps));
}

/** `0.91x (0.88-0.96)`: the median and the spread over rounds. */
export function formatRatio(values: readonly number[]): string {
  const x = (value: number) => value.toFixed(2);
  return `${x(median(values))}x (${x(Math.min(...values))}-${x(Math.max(...values))})`;
}

/** A markdown table, a column per key of the first row; numbers rounded, with thousands separators. */
export function table(rows: readonly Row[]): string {
  const cell = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);
  const head = Object.keys(rows[0]);
  const lines = [head, head.map(() => '---'), ...rows.map((row) => Object.values(row).map(cell))];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Issue 13's and issue 9's goals; throughput is judged on the median of the per-round ratios. */
export function targets(r: Results): Array<{ goal: string; measured: string; met: boolean }> {
  const fastify = (keys: number, limiter: string, min: number, base = 'none') => {
    const values = ratios(r.samples, 'fastify', keys, limiter, base);
    const goal = `Fastify, ${keys} client(s): ${limiter} >= ${min}x ${base}`;
    return { goal, measured: formatRatio(values), met: median(values) >= min };
  };
  const us = r.worst['worst script, µs'];
  const lua = `Lua: ${r.worst.limit} timestamps expiring at once, worst script < 5 ms`;
  return [
    ...[1, HTTP.keys].map((keys) => fastify(keys, 'ours-redis', 1.5, 'peer-redis')),
    ...[1, HTTP.keys].map((keys) => fastify(keys, 'ours-redis', 0.65)),
    fastify(HTTP.keys, 'ours-memory', 0.95),
    { goal: lua, measured: `${us} µs`, met: Number(us) < 5000 },
  ];
}

/** bench/RESULTS.md; how each part measures is docs/benchmarks.md's to say. */
export function renderReport(r: Results): string {
  const http = ['fastify', 'express'].flatMap((platform) => [1, HTTP.keys].map((keys) => {
    const ratio = (limiter: string, base = 'none') => formatRatio(ratios(r.samples, platform, keys, limiter, base));
    const none = median(runs(r.samples, platform, keys, 'none').map((s) => s.rps));
    const shares = Object.fromEntries(LIMITERS.slice(1).map((limiter) => [limiter, ratio(limiter)]));
    const oursOverPeer = ratio('ours-redis', 'peer-redis');
    return { platform, clients: keys, 'none, req/s': none, ...shares, 'ours-redis / peer-redis': oursOverPeer };
  }));
  return [
    '# Benchmark results',
    `Commit \`${r.commit}\` (clean tree), written by \`npm run bench\` in ${r.minutes.toFixed(1)} min. Do not edit:`
      + ` rerun it. What each part measures: [docs/benchmarks.md](../docs/benchmarks.md).\n${r.environment}.`,
    '## Targets',
    table(targets(r).map(({ goal, measured, met }) => ({ goal, measured, met: met ? 'yes' : '**no**' }))),
    `## HTTP throughput: share of no guard in the same round, median (min-max) of ${HTTP.rounds} rounds`,
    `${HTTP.connections} connections, ${HTTP.warmup} s warm-up, ${HTTP.seconds} s measured. Ours is restflow-throttle;`
      + ' peer is @nestjs/throttler, on Redis through @nest-lab/throttler-storage-redis.',
    table(http),
    `## Decisions without HTTP in ${DECISION_SECONDS} s each, one hot key at \`<limit>/day\``,
    table(r.decisions),
    '## Memory per key at `100000/day`',
    table(r.memory),
    '## Lua worst case: a full log expiring at once, then one request; the longest script in SLOWLOG',
    `${table([r.worst])}\n`,
  ].join('\n\n');
}
