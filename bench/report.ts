/** The pure parts of the bench, tested by test/bench/harness.spec.ts: statistics, the clean-tree rule, the report. */
export const LIMITERS = ['none', 'ours-memory', 'ours-redis', 'peer-memory', 'peer-redis'];
/** One HTTP run: 2xx answers a second, and server CPU seconds per 2xx answer. */
export type HttpSample = { platform: string; keys: number; limiter: string; round: number; rps: number; cpu: number };
type Row = Record<string, string | number>;
export type Results = {
  commit: string; quick: boolean; environment: string; minutes: number; samples: HttpSample[]; decisions: Row[]; memory: Row[];
  settings: { rounds: number; warmup: number; seconds: number; keys: number; connections: number; decisionSeconds: number; decisionRounds: number };
  worst: { entries: number; worstScriptUs: number; unexpected: number };
};

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const [sorted, mid] = [[...values].sort((a, b) => a - b), values.length >> 1];
  return values.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Why results may not be written (untracked files count: a stray file can be imported), or `null`. */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  if (changed.length === 0) return null;
  const why = 'npm run bench writes bench/RESULTS.md only from a clean tree, so that its commit is the code measured';
  return `${why}. Commit or remove these first (BENCH_QUICK=1 is a smoke run that writes elsewhere):\n${changed.join('\n')}`;
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export const clientAddress = (n: number) => `10.${((n + 1) >> 16) & 255}.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

/** Per round, a limiter's result over the `none` run of the same platform, clients and round (drift in a round hits both). */
export function ratios(samples: readonly HttpSample[], platform: string, keys: number, limiter: string, by: 'rps' | 'cpu' = 'rps'): number[] {
  const of = (l: string) => samples.filter((s) => s.platform === platform && s.keys === keys && s.limiter === l);
  return of(limiter).flatMap((s) => of('none').filter((b) => b.round === s.round).map((b) => (by === 'rps' ? s.rps / b.rps : b.cpu / s.cpu)));
}

/** `0.91x (0.88-0.96)`: median and spread over rounds. */
export function formatRatio(values: readonly number[]): string {
  const x = (v: number) => v.toFixed(2);
  if (values.length < 2) return values.length === 0 ? '-' : `${x(values[0])}x`;
  return `${x(median(values))}x (${x(Math.min(...values))}-${x(Math.max(...values))})`;
}

export const table = (header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>) =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** Issue 13's and issue 9's goals, each `[goal, measured, met]`; throughput is judged on the median requests/s ratio. */
export function targets(r: Results): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  const goal = (text: string, values: number[], min: number) => out.push([text, formatRatio(values), values.length > 0 && median(values) >= min]);
  for (const keys of [1, r.settings.keys]) {
    const [ours, peer] = ['ours-redis', 'peer-redis'].map((l) => ratios(r.samples, 'fastify', keys, l));
    goal(`Fastify, ${keys} client(s): ours Redis >= 1.5x @nestjs/throttler Redis`, ours.map((v, i) => v / peer[i]), 1.5);
    goal(`Fastify, ${keys} client(s): ours Redis >= 0.65x no guard`, ours, 0.65);
  }
  goal(`Fastify, ${r.settings.keys} clients: ours memory >= 0.95x no guard`, ratios(r.samples, 'fastify', r.settings.keys, 'ours-memory'), 0.95);
  for (const d of r.decisions.filter((row) => row.limit === 10)) {
    const big = r.decisions.find((row) => row.store === d.store && row.algorithm === d.algorithm && row.limit === 100_000);
    const cost = big ? Number(d['allowed/s']) / Number(big['allowed/s']) : NaN;
    out.push([`${d.store} ${d.algorithm}: a decision at limit 100 000 costs <= 1.2x one at 10`, `${cost.toFixed(2)}x`, cost <= 1.2]);
  }
  const { entries, worstScriptUs, unexpected } = r.worst;
  out.push([`Lua: ${entries} entries expiring at once, worst script < 5 ms`, `${worstScriptUs} µs`, worstScriptUs < 5000 && unexpected === 0]);
  return out;
}

const n = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);
const plain = (rows: Row[]) => table(Object.keys(rows[0] ?? {}), rows.map((row) => Object.values(row).map(n)));

/** bench/RESULTS.md; how each part measures is docs/benchmarks.md's to say. */
export function renderReport(r: Results): string {
  const s = r.settings;
  const http = (by: 'rps' | 'cpu', unit: string) => {
    const head = ['platform', 'clients', `no guard, ${unit}`, 'ours, memory', 'ours, Redis', '@nestjs/throttler, memory', '@nestjs/throttler, Redis', 'ours Redis / theirs Redis'];
    return table(head, ['fastify', 'express'].flatMap((platform) => [1, s.keys].map((keys) => {
      const [memory, ours, peerMemory, peer] = LIMITERS.slice(1).map((l) => ratios(r.samples, platform, keys, l, by));
      const base = r.samples.filter((x) => x.platform === platform && x.keys === keys && x.limiter === 'none').map((x) => (by === 'rps' ? x.rps : 1e6 * x.cpu));
      return [platform, n(keys), base.length ? n(median(base)) : '-', ...[memory, ours, peerMemory, peer, ours.map((v, i) => v / peer[i])].map(formatRatio)];
    })));
  };
  return [
    '# Benchmark results',
    `Commit \`${r.commit}\` (${r.quick ? 'BENCH_QUICK smoke run, tree not checked: not results' : 'clean tree'}), written by \`npm run bench\` in ${r.minutes.toFixed(1)} min. Do not edit: rerun it. What each part measures: [docs/benchmarks.md](../docs/benchmarks.md).\n${r.environment}`,
    '## Targets',
    table(['goal', 'measured', 'met'], targets(r).map(([goal, measured, met]) => [goal, measured, met ? 'yes' : '**no**'])),
    `## HTTP throughput: share of no guard in the same round, median (min-max) of ${s.rounds} round(s)`,
    `${s.connections} connections, ${s.warmup} s warm-up, ${s.seconds} s measured. By requests/s:`,
    http('rps', 'req/s'),
    'By server CPU time per request:',
    http('cpu', 'µs/req'),
    `## Decisions without HTTP: median of ${s.decisionRounds} x ${s.decisionSeconds} s on one hot key at \`<limit>/day\``,
    plain(r.decisions),
    '## Memory per key at `100000/day`',
    plain(r.memory),
    '## Lua worst case',
    `${n(r.worst.entries)} timestamps expiring at once, then one request: the longest script in SLOWLOG took **${n(r.worst.worstScriptUs)} µs** (unexpected outcomes: ${r.worst.unexpected}).\n`,
  ].join('\n\n');
}
