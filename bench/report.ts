/** The pure parts of the bench, tested by test/bench/harness.spec.ts: statistics, the clean-tree rule, the report. */
export type Row = Record<string, string | number>;
/** One HTTP run: 2xx answers a second, and server CPU seconds per 2xx answer. */
export type HttpSample = { platform: string; keys: number; limiter: string; round: number; rps: number; cpu: number };
export type Measured = { samples: HttpSample[]; decisions: Row[]; memory: Row[]; worst: Row };
type Settings = Record<'rounds' | 'warmup' | 'seconds' | 'keys' | 'connections' | 'decisionRounds' | 'decisionSeconds', number>;
export type Results = Measured & { commit: string; quick: boolean; environment: string; minutes: number; settings: Settings };

export function median(values: readonly number[]): number {
  const [sorted, mid] = [[...values].sort((a, b) => a - b), values.length >> 1];
  return values.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2; // NaN for none
}

/** Why results may not be written (untracked files count: a stray file can be imported), or `null`. */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  const why = 'npm run bench writes bench/RESULTS.md only from a clean tree, so that its commit is the code measured';
  return changed.length === 0 ? null : `${why}. Commit or remove these first (BENCH_QUICK=1 writes elsewhere):\n${changed.join('\n')}`;
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export const clientAddress = (n: number) => `10.${((n + 1) >> 16) & 255}.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

const runs = (samples: readonly HttpSample[], platform: string, keys: number, limiter: string) =>
  samples.filter((s) => s.platform === platform && s.keys === keys && s.limiter === limiter);

/**
 * Per round, a limiter's requests/s (`by` 'cpu': CPU per request, inverted) over `base`'s on the same platform and clients:
 * drift within a round hits both alike.
 */
export function ratios(samples: readonly HttpSample[], platform: string, keys: number, limiter: string, base = 'none', by = 'rps') {
  const bases = runs(samples, platform, keys, base);
  return runs(samples, platform, keys, limiter).flatMap((s) =>
    bases.filter((b) => b.round === s.round).map((b) => (by === 'rps' ? s.rps / b.rps : b.cpu / s.cpu)),
  );
}

/** `0.91x (0.88-0.96)`: median and spread over rounds. */
export function formatRatio(values: readonly number[]): string {
  const x = (v: number) => v.toFixed(2);
  if (values.length < 2) return values.length === 0 ? '-' : `${x(values[0])}x`;
  return `${x(median(values))}x (${x(Math.min(...values))}-${x(Math.max(...values))})`;
}

const n = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);

/** A markdown table, a column per key of the first row; numbers rounded, with thousands separators. */
export function table(rows: readonly Row[]): string {
  const head = Object.keys(rows[0] ?? {});
  const lines = [head, head.map(() => '---'), ...rows.map((row) => Object.values(row).map(n))];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Issue 13's and issue 9's goals; throughput is judged on the median requests/s ratio. */
export function targets(r: Results): Array<{ goal: string; measured: string; met: boolean }> {
  const goal = (text: string, values: number[], met: (median: number) => boolean) =>
    ({ goal: text, measured: formatRatio(values), met: values.length > 0 && met(median(values)) });
  const fastify = (keys: number, text: string, min: number, limiter: string, base?: string) =>
    goal(`Fastify, ${keys} ${text}`, ratios(r.samples, 'fastify', keys, limiter, base), (ratio) => ratio >= min);
  const allowed = (d: Row, limit: number) =>
    Number(r.decisions.find((x) => x.store === d.store && x.algorithm === d.algorithm && x.limit === limit)?.['allowed/s']);
  const cost = (d: Row) => goal(`${d.store} ${d.algorithm}: a decision at limit 100 000 costs <= 1.2x one at 10`,
    [allowed(d, 10) / allowed(d, 100_000)], (c) => c <= 1.2);
  const { limit, worstScriptUs: us, 'unexpected outcomes': wrong } = r.worst;
  return [
    ...[1, r.settings.keys].flatMap((keys) => [
      fastify(keys, 'client(s): ours Redis >= 1.5x @nestjs/throttler Redis', 1.5, 'ours-redis', 'peer-redis'),
      fastify(keys, 'client(s): ours Redis >= 0.65x no guard', 0.65, 'ours-redis'),
    ]),
    fastify(r.settings.keys, 'clients: ours memory >= 0.95x no guard', 0.95, 'ours-memory'),
    ...r.decisions.filter((d) => d.limit === 10).map(cost),
    { goal: `Lua: ${limit} entries expiring at once, worst script < 5 ms`, measured: `${us} µs`, met: Number(us) < 5000 && wrong === 0 },
  ];
}

/** bench/RESULTS.md; how each part measures is docs/benchmarks.md's to say. */
export function renderReport(r: Results): string {
  const s = r.settings;
  const http = (by: 'rps' | 'cpu') => table(['fastify', 'express'].flatMap((platform) => [1, s.keys].map((keys) => {
    const ratio = (limiter: string, base?: string) => formatRatio(ratios(r.samples, platform, keys, limiter, base, by));
    const none = median(runs(r.samples, platform, keys, 'none').map((x) => (by === 'rps' ? x.rps : 1e6 * x.cpu)));
    return { platform, clients: keys, [`no guard, ${by === 'rps' ? 'req/s' : 'µs/req'}`]: none,
      'ours, memory': ratio('ours-memory'), 'ours, Redis': ratio('ours-redis'), '@nestjs/throttler, memory': ratio('peer-memory'),
      '@nestjs/throttler, Redis': ratio('peer-redis'), 'ours Redis / theirs Redis': ratio('ours-redis', 'peer-redis') };
  })));
  const tree = r.quick ? 'BENCH_QUICK smoke run, tree not checked: not results' : 'clean tree';
  return [
    '# Benchmark results',
    `Commit \`${r.commit}\` (${tree}), written by \`npm run bench\` in ${r.minutes.toFixed(1)} min. Do not edit: rerun it. `
      + `What each part measures: [docs/benchmarks.md](../docs/benchmarks.md).\n${r.environment}.`,
    '## Targets',
    table(targets(r).map(({ goal, measured, met }) => ({ goal, measured, met: met ? 'yes' : '**no**' }))),
    `## HTTP throughput: share of no guard in the same round, median (min-max) of ${s.rounds} round(s)`,
    `${s.connections} connections, ${s.warmup} s warm-up, ${s.seconds} s measured. By requests/s:`,
    http('rps'),
    'By server CPU time per request:',
    http('cpu'),
    `## Decisions without HTTP: median of ${s.decisionRounds} x ${s.decisionSeconds} s on one hot key at \`<limit>/day\``,
    table(r.decisions),
    '## Memory per key at `100000/day`',
    table(r.memory),
    '## Lua worst case',
    `${n(r.worst.limit)} timestamps expiring at once, then one request: the longest script in SLOWLOG took `
      + `**${n(r.worst.worstScriptUs)} µs** (unexpected outcomes: ${r.worst['unexpected outcomes']}).\n`,
  ].join('\n\n');
}
