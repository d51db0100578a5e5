/** The bench's settings and its pure parts (statistics, the clean-tree rule, the report), tested by test/bench/. */
// 5 rounds of 2 s measured (3 s until the peers and the attack made 250 runs of it): about 18 minutes in all.
export const HTTP = { rounds: 5, warmup: 1, seconds: 2, keys: 10_000, connections: 50 };
export type HttpSettings = typeof HTTP;
/** `npm run bench -- --smoke [file]`: every run once and short, to try the bench itself; its numbers are no result. */
export const SMOKE: HttpSettings = { ...HTTP, rounds: 1, seconds: 1 };
export const DECISION_SECONDS = 1;
/** One client over this limit a minute: the first answers are 200, all the others 429. */
export const ATTACK_LIMIT = 100;
/**
 * The two guards are floors: `empty-guard` admits every request and does nothing more (what Nest charges any guard);
 * `map-guard` also counts the request under its client in a Map (the least a limiter keyed per client does).
 * `rlf-*` is rate-limiter-flexible in a plain Nest guard; `throttler-*` is @nestjs/throttler.
 */
export const LIMITERS = [
  'none',
  'empty-guard',
  'map-guard',
  'ours-memory',
  'ours-redis',
  'rlf-memory',
  'rlf-redis',
  'throttler-memory',
  'throttler-redis',
];
/** Under a limit never reached from 1 client and from `HTTP.keys`, then the attack (named by those in runs). */
export const SCENARIOS = ['1', String(HTTP.keys), 'attack'];
/** The limiters of a scenario: the floors refuse nothing, so they have no attack to answer. */
export const limitersOf = (scenario: string) =>
  scenario === 'attack' ? LIMITERS.filter((limiter) => !limiter.endsWith('-guard')) : LIMITERS;
export type Row = Record<string, string | number>;
/**
 * `samples['fastify 1 none']`: a number per run of Fastify, 1 client, no guard, in round order. Runs are named
 * `<platform> <scenario>`: `fastify 10000`, `express attack`.
 */
export type Samples = Record<string, number[]>;
/**
 * `samples`: answers a second (in the attack, 429s included); `cpu`: the server's CPU time (user + system) per answer,
 * in µs; `smoke`: written by `--smoke`, from whatever tree, with `http` its settings.
 */
export type Results = { commit: string; smoke: boolean; environment: string; minutes: number; http: HttpSettings } & {
  samples: Samples;
  cpu: Samples;
  decisions: Row[];
  memory: Row[];
  worst: Row;
};

export function median(values: readonly number[]): number {
  const [sorted, mid] = [[...values].sort((a, b) => a - b), values.length >> 1];
  return values.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2; // NaN for none
}

/** Why results may not be written (untracked files count: a stray file can be imported), or `null`. */
export function dirtyTreeRefusal(porcelain: string): string | null {
  const changed = porcelain.split('\n').filter((line) => line.trim() !== '');
  return changed.length === 0
    ? null
    : 'npm run bench writes bench/RESULTS.md only from a clean tree, so that its' +
        ` commit is the code measured. Commit or remove these first:\n${changed.join('\n')}`;
}

/**
 * The CPU time a process has used (user + system, all its threads) in clock ticks, from its `/proc/<pid>/stat`:
 * fields 14 and 15, counted after the name in parentheses (which may hold spaces and parentheses).
 */
export function cpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3, the state
  return Number(fields[11]) + Number(fields[12]);
}

/** The n-th client address: 10.0.0.1, 10.0.0.2, ... unique for n < 2^24. */
export const clientAddress = (n: number) => `10.${((n + 1) >> 16) & 255}.${((n + 1) >> 8) & 255}.${(n + 1) & 255}`;

/**
 * Per round, `limiter`'s requests/s over `base`'s on the same run (drift hits both alike): their median, and
 * `0.91x (0.88-0.96)`, the median and the spread over rounds.
 */
export function ratio(samples: Samples, run: string, limiter: string, base = 'none') {
  const values = (samples[`${run} ${limiter}`] ?? []).map((rps, round) => rps / samples[`${run} ${base}`]?.[round]);
  const [mid, x] = [median(values), (value: number) => value.toFixed(2)];
  return { median: mid, text: `${x(mid)}x (${x(Math.min(...values))}-${x(Math.max(...values))})` };
}

/** The median server CPU time per answer of `limiter` on `run`, in µs, to a tenth. */
const cpuText = (r: Results, run: string, limiter: string) => median(r.cpu[`${run} ${limiter}`] ?? []).toFixed(1);

/** A markdown table, a column per key of the first row; numbers rounded, with thousands separators. */
export function table(rows: readonly Row[]): string {
  const cell = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);
  const head = Object.keys(rows[0]);
  const lines = [head, head.map(() => '---'), ...rows.map((row) => Object.values(row).map(cell))];
  return lines.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

const scenarioName = (scenario: string) =>
  scenario === 'attack' ? 'attack' : `${Number(scenario).toLocaleString('en-US')} client${scenario === '1' ? '' : 's'}`;

/** A goal of the report, and for a ratio the medians of server CPU per answer it compares (µs). */
export interface Target {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
  readonly costs?: { limiter: string; base: string; min: number; ours: number; theirs: number; none: number };
}

/**
 * What each missed ratio would take, in server CPU per answer: where the server's CPU is what limits answers a
 * second, the ratio is about the inverse of the CPU ratio, so `min`x `base` needs `limiter` at `theirs / min` µs at
 * most. Beside it, each side's cost over no guard (the limiter's own share). Why they are missed is the docs' to say.
 */
export function shortfalls(r: Results): string[] {
  return targets(r).flatMap(({ met, costs }) => {
    if (met || costs === undefined) return [];
    const { limiter, base, min, ours, theirs, none } = costs;
    const [need, x] = [theirs / min, (us: number) => us.toFixed(1)];
    const over = (us: number) => `${x(Math.abs(us - none))} µs ${us >= none ? 'over' : 'under'} no guard`;
    const share = base === 'none' ? '' : `; ${base}: ${x(theirs)} µs (${over(theirs)})`;
    const gap =
      ours > need
        ? `${x(ours - need)} µs less than its ${x(ours)} (${over(ours)})`
        : `its ${x(ours)} µs is within that (${over(ours)}): missed on answers a second, not on CPU, so that run was ` +
          'bound by waiting (on Redis, or the load generator), not by the server';
    return [
      `- ${limiter} at ${min.toFixed(2)}x ${base} needs at most ${x(need)} µs of server CPU per answer: ${gap}${share}.`,
    ];
  });
}

/**
 * Issues 9, 13 and 23's goals, on Fastify; throughput is judged on the median of the per-round ratios, and each
 * comparison also shows both sides' server CPU per answer (where the load generator caps the cheap columns).
 */
export function targets(r: Results): Target[] {
  const fastify = (scenario: string, limiter: string, min: number, base = 'none'): Target => {
    const run = `fastify ${scenario}`;
    const { median: measured, text } = ratio(r.samples, run, limiter, base);
    const cpu = `server CPU ${cpuText(r, run, limiter)} vs ${cpuText(r, run, base)} µs/answer`;
    const goal = `Fastify, ${scenarioName(scenario)}: ${limiter} >= ${min.toFixed(2)}x ${base}`;
    const us = (name: string) => median(r.cpu[`${run} ${name}`] ?? []);
    const costs = { limiter, base, min, ours: us(limiter), theirs: us(base), none: us('none') };
    return { goal, measured: `${text}; ${cpu}`, met: measured >= min, costs };
  };
  const [one, many] = SCENARIOS;
  const us = r.worst['worst script, µs'];
  const lua = `Lua: ${r.worst.limit} timestamps expiring at once, worst script < 5 ms`;
  return [
    ...[one, many].map((scenario) => fastify(scenario, 'ours-redis', 1.5, 'throttler-redis')),
    ...[one, many].map((scenario) => fastify(scenario, 'ours-redis', 1.3, 'rlf-redis')),
    ...[one, many].map((scenario) => fastify(scenario, 'ours-redis', 0.65)),
    fastify(many, 'ours-memory', 0.95, 'map-guard'),
    fastify('attack', 'ours-memory', 1, 'rlf-memory'),
    fastify('attack', 'ours-redis', 1.5, 'rlf-redis'),
    { goal: lua, measured: `${us} µs`, met: Number(us) < 5000 },
  ];
}

/** A platform's HTTP table: a row per limiter, its answers a second, share of no guard and CPU per answer. */
function httpTable(r: Results, platform: string): string {
  return table(
    LIMITERS.map((limiter) => {
      const columns = SCENARIOS.flatMap((scenario) => {
        const [run, name, measured] = [`${platform} ${scenario}`, scenarioName(scenario), limitersOf(scenario)];
        const rps = measured.includes(limiter) ? median(r.samples[`${run} ${limiter}`] ?? []) : '-';
        const share = !measured.includes(limiter)
          ? '-'
          : limiter === 'none'
            ? '1.00x'
            : ratio(r.samples, run, limiter).text;
        const cpu = measured.includes(limiter) ? cpuText(r, run, limiter) : '-';
        return [
          [`${name}: req/s`, rps],
          [`${name}: share of none`, share],
          [`${name}: µs/answer`, cpu],
        ];
      });
      return { limiter, ...Object.fromEntries(columns) };
    }),
  );
}

/** Ours over each peer on the same store, per round: a row per platform and scenario. */
function oursOverPeers(r: Results): string {
  const pairs = ['memory', 'redis'].flatMap((store) => ['rlf', 'throttler'].map((peer) => [store, `${peer}-${store}`]));
  return table(
    ['fastify', 'express'].flatMap((platform) =>
      SCENARIOS.map((scenario) => ({
        platform,
        scenario: scenarioName(scenario),
        ...Object.fromEntries(
          pairs.map(([store, peer]) => [
            `ours-${store} / ${peer}`,
            ratio(r.samples, `${platform} ${scenario}`, `ours-${store}`, peer).text,
          ]),
        ),
      })),
    ),
  );
}

/** The shortfalls under their heading, if any target is missed. */
function missed(r: Results): string[] {
  const lines = shortfalls(r);
  if (lines.length === 0) return [];
  return [
    '### What the missed targets would take',
    `${lines.join('\n')}\n\nWhere that time goes, and why it is not cut: [docs/benchmarks.md]` +
      '(../docs/benchmarks.md#the-missed-targets-where-the-time-goes).',
  ];
}

/** bench/RESULTS.md; how each part measures is docs/benchmarks.md's to say. */
export function renderReport(r: Results): string {
  const { rounds, warmup, seconds, connections } = r.http;
  const plural = rounds === 1 ? 'round' : 'rounds';
  const origin = r.smoke
    ? `A smoke run (\`npm run bench -- --smoke\`) at \`${r.commit}\`, uncommitted changes included, in` +
      ` ${r.minutes.toFixed(1)} min: it tries the bench, its numbers are no result.`
    : `Commit \`${r.commit}\` (clean tree), written by \`npm run bench\` in ${r.minutes.toFixed(1)} min. Do not edit:` +
      ' rerun it.';
  return [
    '# Benchmark results',
    `${origin} What each part measures: [docs/benchmarks.md](../docs/benchmarks.md).\n${r.environment}.`,
    '## Targets',
    table(targets(r).map(({ goal, measured, met }) => ({ goal, measured, met: met ? 'met' : '**MISSED**' }))),
    ...missed(r),
    `## HTTP: answers a second, share of no guard in the same round (median, min-max of ${rounds} ${plural}),` +
      ' server CPU per answer (median, µs)',
    `${connections} connections, ${warmup} s warm-up, ${seconds} s measured. Ours is restflow-throttle; rlf is` +
      ' rate-limiter-flexible in a plain Nest guard; throttler is @nestjs/throttler, on Redis through' +
      ` @nest-lab/throttler-storage-redis. In the attack (1 client over \`${ATTACK_LIMIT}/min\`) nearly every` +
      ' answer is a 429, and answers a second count them; no guard answers 200.',
    '### Fastify',
    httpTable(r, 'fastify'),
    '### Express',
    httpTable(r, 'express'),
    '## Ours over the peers on the same store: median (min-max) of the per-round ratios of answers a second',
    oursOverPeers(r),
    `## Decisions without HTTP in ${DECISION_SECONDS} s each, one hot key at \`<limit>/day\``,
    table(r.decisions),
    '## Memory per key at `100000/day`',
    table(r.memory),
    '## Lua worst case: a full log expiring at once, then one request; the longest script in SLOWLOG',
    `${table([r.worst])}\n`,
  ].join('\n\n');
}
