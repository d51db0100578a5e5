/** bench/RESULTS.md from the measurements: pure, so test/bench/harness.spec.ts renders it from made-up numbers. */
import { formatRatio, median, ratiosToBaseline, table, type HttpSample } from './stats';

export const LIMITERS = ['none', 'ours-memory', 'ours-redis', 'peer-memory', 'peer-redis'];
type Row = Record<string, string | number>;

export interface Results {
  commit: string;
  quick: boolean;
  /** Node, CPU, pinning, versions: one line. */
  environment: string;
  minutes: number;
  settings: { rounds: number; warmup: number; seconds: number; keys: number; connections: number; decisionSeconds: number };
  samples: HttpSample[];
  decisions: Row[];
  memory: Row[];
  worst: { entries: number; worstScriptUs: number; unexpected: number };
}

/** Issue 13's and issue 9's goals, each `[goal, measured, met]`. */
export function targets(r: Results): Array<[string, string, boolean]> {
  const ratios = ratiosToBaseline(r.samples);
  const rps = (keys: number, limiter: string) => ratios.get(`fastify|${keys}|${limiter}`)?.rps ?? [];
  const out: Array<[string, string, boolean]> = [];
  for (const keys of [1, r.settings.keys]) {
    const vsPeer = rps(keys, 'ours-redis').map((v, i) => v / rps(keys, 'peer-redis')[i]);
    out.push([`Fastify, ${keys} client(s): ours Redis >= 1.5x @nestjs/throttler Redis`, formatRatio(vsPeer), vsPeer.length > 0 && median(vsPeer) >= 1.5]);
    out.push([`Fastify, ${keys} client(s): ours Redis >= 0.65x no guard`, formatRatio(rps(keys, 'ours-redis')), rps(keys, 'ours-redis').length > 0 && median(rps(keys, 'ours-redis')) >= 0.65]);
  }
  const memory = rps(r.settings.keys, 'ours-memory');
  out.push([`Fastify, ${r.settings.keys} clients: ours memory >= 0.95x no guard`, formatRatio(memory), memory.length > 0 && median(memory) >= 0.95]);
  for (const d of r.decisions.filter((row) => row.limit === 10)) {
    const big = r.decisions.find((row) => row.store === d.store && row.algorithm === d.algorithm && row.limit === 100_000);
    const cost = big ? Number(d.allowedPerSec) / Number(big.allowedPerSec) : NaN;
    out.push([`${d.store} ${d.algorithm}: a decision at limit 100 000 costs <= 1.2x one at 10`, `${cost.toFixed(2)}x`, cost <= 1.2]);
  }
  out.push([`Lua: ${r.worst.entries} entries expiring at once, worst script < 5 ms`, `${r.worst.worstScriptUs} µs`, r.worst.worstScriptUs < 5000 && r.worst.unexpected === 0]);
  return out;
}

const n = (v: string | number) => (typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v);

export function renderReport(r: Results): string {
  const s = r.settings;
  const ratios = ratiosToBaseline(r.samples);
  const rows = (by: 'rps' | 'cpu') =>
    ['fastify', 'express'].flatMap((platform) =>
      [1, s.keys].map((keys) => {
        const of = (limiter: string) => ratios.get(`${platform}|${keys}|${limiter}`)?.[by] ?? [];
        const base = r.samples.filter((x) => x.platform === platform && x.keys === keys && x.limiter === 'none').map((x) => (by === 'rps' ? x.rps : 1e6 * x.cpuPerRequest));
        const vsPeer = of('ours-redis').map((v, i) => v / of('peer-redis')[i]);
        return [platform, n(keys), base.length ? n(median(base)) : '-', ...LIMITERS.slice(1).map((l) => formatRatio(of(l))), formatRatio(vsPeer)];
      }),
    );
  const header = (first: string) => ['platform', 'clients', first, 'ours, memory', 'ours, Redis', '@nestjs/throttler, memory', '@nestjs/throttler, Redis', 'ours Redis / theirs Redis'];
  const plain = (list: Row[]) => list.map((row) => Object.values(row).map(n));
  return `# Benchmark results

Commit \`${r.commit}\` (${r.quick ? 'BENCH_QUICK smoke run, tree not checked: not results' : 'clean tree'}), written by \`npm run bench\` in ${r.minutes.toFixed(1)} min. Do not edit: rerun it.
${r.environment}

## Targets

${table(['goal', 'measured', 'met'], targets(r).map(([goal, measured, met]) => [goal, measured, met ? 'yes' : '**no**']))}

## HTTP throughput

A Nest app with one JSON route, a fresh server process per run, autocannon with ${s.connections} connections, ${s.warmup} s warm-up then ${s.seconds} s measured, ${s.rounds} interleaved round(s) (each limiter once per round beside no guard, order rotated). Every limiter allows every request and keys on the last X-Forwarded-For address, from 1 client or ${n(s.keys)}. Ours: \`AnonRateThrottle\` with \`numProxies: 1\`; theirs: @nestjs/throttler with the same rule in \`getTracker\`, in memory or with @nest-lab/throttler-storage-redis. Cells: requests/s as a share of no guard in the same round, median (min-max).

${table(header('no guard, req/s'), rows('rps'))}

The same by server CPU time per request (no guard's in µs), which other work on the machine hardly moves:

${table(header('no guard, µs/req'), rows('cpu'))}

## Decisions without HTTP

\`allowRequest()\` of a rate throttle (throttle -> store) on one hot key, rate \`<limit>/day\`, on a virtual clock: "allowed" keeps the window exactly full and sliding, "denied" is a full window. Median of ${s.rounds} x ${s.decisionSeconds} s; Redis with 32 decisions in flight.

${table(['store', 'algorithm', 'limit', 'allowed/s', 'denied/s', 'unexpected outcomes'], plain(r.decisions))}

## Memory per key at \`100000/day\`

Memory store: heap growth after a full GC, divided by the keys; Redis: \`MEMORY USAGE\` of each key. A sliding log holds a timestamp per request in the window, up to the limit; a GCRA key holds one number.

${table(['store', 'algorithm', 'limit', 'keys', 'hits per key', 'bytes per key', 'unexpected outcomes'], plain(r.memory))}

## Lua worst case

A sliding log of ${n(r.worst.entries)} timestamps (\`${r.worst.entries}/day\`) expiring at once, then one request: the longest script in Redis's SLOWLOG took **${n(r.worst.worstScriptUs)} µs** (unexpected outcomes: ${r.worst.unexpected}).
`;
}
