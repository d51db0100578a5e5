/** The bench's settings and its pure parts (statistics, the clean-tree rule, the report), tested by test/bench/. */
export const HTTP = { rounds: 5, warmup: 1, seconds: 3, keys: 10_000, connections: 50 };
export const DECISION_SECONDS = 1;
/**
 * The two guards are floors: `empty-guard` admits every request and does nothing more (what Nest charges any guard);
 * `map-guard` also counts the request under its client in a Map (the least a limiter keyed per client does).
 */
export const LIMITERS = ['none', 'empty-guard', 'map-guard', 'ours-memory', 'ours-redis', 'peer-memory', 'peer-redis'];
export type Row = Record<string, string | number>;
/** `samples['fastify 1 none']`: the requests/s of each run of Fastify, 1 client, no guard, in round order. */
export type Samples = Record<string, number[]>;
export type Results = { commit: string; environment: string; minutes: number; samples: Samples }
  & { decisions: Row[]; memory: Row[]; worst: Row };

export function median(values: readonly number[]): number {
  const [sorted, mid] = [[...values].sort((a, b) => a - b), values.length >> 1];
  return values.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2; // NaN for none
}

/** Why results may not be written (untracked files count: a stray file can be imported), or `null`. */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  return changed.length === 0 ? null : 'npm run bench writes bench/RESULTS.md only from a clean tree, so that its'
    + ` commit is the code measured. Commit or remove these first:\n${changed.join('\n')}`;
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export const clientAddress = (n: number) => `10.${((n + 1) >> 16) & 255}.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

/**
 * Per round, `limiter`'s requests/s over `base`'s on the same `<platform> <clients>` (drift hits both alike): their
 * median, and `0.91x (0.88-0.96)`, the median and the spread over rounds.
 */
export function ratio(samples: Samples, run: string, limiter: string, base = 'none') {
  const values = (samples[`${run} ${limiter}`] ?? []).map((rps, round) => rps / samples[`${run} ${base}`]?.[round]);
  const [mid, x] = [median(values), (value: number) => value.toFixed(2)];
  return { median: mid, text: `${x(mid)}x (${x(Math.min(...values))}-${x(Math.max(...values))})` };
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
    const { median, text } = ratio(r.samples, `fastify ${keys}`, limiter, base);
    return { goal: `Fastify, ${keys} client(s): ${limiter} >= ${min}x ${base}`, measured: text, met: median >= min };
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
  const http = ['fastify', 'express'].flatMap((platform) => [1, HTTP.keys].map((clients) => {
    const run = `${platform} ${clients}`;
    const share = (limiter: string, base = 'none') => ratio(r.samples, run, limiter, base).text;
    const shares = Object.fromEntries(LIMITERS.slice(1).map((limiter) => [limiter, share(limiter)]));
    const [none, oursOverPeer] = [median(r.samples[`${run} none`] ?? []), share('ours-redis', 'peer-redis')];
    return { platform, clients, 'none, req/s': none, ...shares, 'ours-redis / peer-redis': oursOverPeer };
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
