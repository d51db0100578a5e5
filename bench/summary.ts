import type { Limiter, Platform } from './config';
import type { DecisionResult } from './decisions';
import { okPerCpu, type HttpSample } from './http';
import type { MemoryResult } from './memory';
import type { ProfileSummary } from './profile';
import { median, range } from './stats';

/** Everything one `npm run bench` measured; written to results.json, rendered to RESULTS.md and results.svg. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  command: string;
  settings: Record<string, string | number | boolean>;
  machine: {
    cpu: string;
    cores: number;
    pinning: string;
    node: string;
    /** 1-minute load average before and after, and the busiest other processes seen before the run. */
    loadBefore: number[];
    loadAfter: number[];
    otherProcesses: string[];
  };
  commit: string;
  versions: Record<string, string>;
  http: HttpSample[];
  decisions: DecisionResult[];
  /** Redis commands the server saw per decision of the Redis micro-benchmark, by command. */
  redisCommandsPerDecision: Record<string, number>;
  memory: MemoryResult[];
  profiles: ProfiledRun[];
}

/** A profiled HTTP run: which scenario, its throughput under the profiler, and the summary. */
export interface ProfiledRun extends ProfileSummary {
  scenario: { platform: Platform; keys: number; limiter: Limiter };
  rps: number;
  /** Server CPU per answered request under the profiler, µs. */
  cpuPerRequestUs: number;
}

export interface HttpRow {
  platform: Platform;
  keys: number;
  limiter: Limiter;
  rps: number;
  p50: number;
  p99: number;
  /** Median over rounds of rps / the no-guard rps of the same round; and its spread. */
  ratio: number;
  ratioRange: [number, number];
  /** 2xx answers per server CPU-second (median), and its per-round ratio to no guard (median). */
  perCpu: number;
  cpuRatio: number;
  non2xx: number;
  errors: number;
  loadCpu: number;
  /** redis-server's CPU over the measured run, as a share of one core (median); NaN without Redis. */
  redisCpu: number;
  rounds: number;
}

export function httpRows(samples: readonly HttpSample[]): HttpRow[] {
  const groups = new Map<string, HttpSample[]>();
  for (const sample of samples) {
    const key = `${sample.platform}|${sample.keys}|${sample.limiter}`;
    groups.set(key, [...(groups.get(key) ?? []), sample]);
  }
  const baselineOf = (sample: HttpSample): HttpSample | undefined =>
    samples.find((s) => s.platform === sample.platform && s.keys === sample.keys && s.round === sample.round && s.limiter === 'none');
  const baseline = (sample: HttpSample): number | undefined => baselineOf(sample)?.result.rps;
  const rows: HttpRow[] = [];
  for (const group of groups.values()) {
    const ratios = group.flatMap((s) => {
      const base = baseline(s);
      return base ? [s.result.rps / base] : [];
    });
    const cpuRatios = group.flatMap((s) => {
      const base = baselineOf(s);
      return base ? [okPerCpu(s) / okPerCpu(base)] : [];
    });
    const { platform, keys, limiter } = group[0];
    rows.push({
      platform,
      keys,
      limiter,
      rps: median(group.map((s) => s.result.rps)),
      p50: median(group.map((s) => s.result.p50)),
      p99: median(group.map((s) => s.result.p99)),
      ratio: ratios.length ? median(ratios) : NaN,
      ratioRange: ratios.length ? range(ratios) : [NaN, NaN],
      perCpu: median(group.map(okPerCpu)),
      cpuRatio: cpuRatios.length ? median(cpuRatios) : NaN,
      non2xx: group.reduce((sum, s) => sum + s.result.non2xx, 0),
      errors: group.reduce((sum, s) => sum + s.result.errors, 0),
      loadCpu: median(group.map((s) => s.result.loadCpu)),
      redisCpu: group.every((s) => s.redisCpu !== undefined)
        ? median(group.map((s) => s.redisCpu! / ((s.result.endedUs - s.result.startedUs) / 1e6)))
        : NaN,
      rounds: group.length,
    });
  }
  return rows;
}

/** Median over rounds of rps(a) / rps(b), same platform, keys and round. */
export function pairRatio(samples: readonly HttpSample[], platform: Platform, keys: number, a: Limiter, b: Limiter): number {
  const ratios: number[] = [];
  for (const sa of samples) {
    if (sa.platform !== platform || sa.keys !== keys || sa.limiter !== a) continue;
    const sb = samples.find((s) => s.platform === platform && s.keys === keys && s.round === sa.round && s.limiter === b);
    if (sb && sb.result.rps > 0) ratios.push(sa.result.rps / sb.result.rps);
  }
  return ratios.length ? median(ratios) : NaN;
}

export interface Target {
  target: string;
  where: string;
  measured: string;
  met: boolean | null;
  /** The HTTP scenario the target is about, to profile it when missed. */
  scenario?: { platform: Platform; keys: number; limiter: Limiter };
}

const x = (ratio: number): string => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a');
const MB = 1024 * 1024;

/** The issue's targets, each checked against this run's numbers (`null` = not measured). */
export function evaluateTargets(results: BenchResults): Target[] {
  const rows = httpRows(results.http);
  const row = (platform: Platform, keys: number, limiter: Limiter): HttpRow | undefined =>
    rows.find((r) => r.platform === platform && r.keys === keys && r.limiter === limiter);
  const keySets = [...new Set(results.http.map((s) => s.keys))].sort((a, b) => a - b);
  const platforms = [...new Set(results.http.map((s) => s.platform))];
  const targets: Target[] = [];
  const where = (platform: string, keys: number): string => `${platform}, ${keys === 1 ? '1 key' : `${keys.toLocaleString('en-US')} keys`}`;

  for (const keys of keySets) {
    const r = row('fastify', keys, 'restflow-memory');
    targets.push({
      target: 'memory path >= 0.95x no guard (Fastify)',
      where: where('fastify', keys),
      measured: x(r?.ratio ?? NaN),
      met: r ? r.ratio >= 0.95 : null,
      scenario: { platform: 'fastify', keys, limiter: 'restflow-memory' },
    });
  }
  for (const platform of platforms) {
    for (const keys of keySets) {
      const r = row(platform, keys, 'restflow-redis');
      targets.push({
        target: 'Redis path >= 0.6x no guard',
        where: where(platform, keys),
        measured: x(r?.ratio ?? NaN),
        met: r ? r.ratio >= 0.6 : null,
        scenario: { platform, keys, limiter: 'restflow-redis' },
      });
    }
  }
  for (const platform of platforms) {
    for (const keys of keySets) {
      const ratio = pairRatio(results.http, platform, keys, 'restflow-redis', 'nestjs-throttler-redis');
      targets.push({
        target: 'Redis path >= 1.5x @nestjs/throttler + Redis storage',
        where: where(platform, keys),
        measured: x(ratio),
        met: Number.isFinite(ratio) ? ratio >= 1.5 : null,
        scenario: { platform, keys, limiter: 'restflow-redis' },
      });
    }
  }
  for (const store of ['memory', 'redis'] as const) {
    const at = (limit: number): DecisionResult | undefined => results.decisions.find((d) => d.store === store && d.limit === limit);
    const low = at(10);
    const high = at(100_000);
    for (const mode of ['allowedPerSec', 'deniedPerSec'] as const) {
      const a = low?.[mode];
      const b = high?.[mode];
      const ratio = a && b ? a / b : NaN;
      targets.push({
        target: 'cost at limit 100 000 <= 1.2x cost at limit 10',
        where: `${store} store, ${mode === 'allowedPerSec' ? 'allowed (log full, sliding)' : 'denied (429)'}`,
        measured: x(ratio),
        met: Number.isFinite(ratio) ? ratio <= 1.2 : null,
      });
    }
  }
  // "Under 250 MB RSS, or capped": the default cap bounds the keys; the run with the cap raised shows the cost of keeping every client.
  const capped = results.memory.find((m) => m.defaultCap);
  const uncapped = results.memory.find((m) => !m.defaultCap);
  if (capped || uncapped) {
    const mb = (m: MemoryResult): string => `${(m.rssAfter / MB).toFixed(0)} MB RSS`;
    const parts = [
      capped ? `default cap: ${capped.keysHeld.toLocaleString('en-US')} keys held (cap ${capped.maxKeys.toLocaleString('en-US')}), ${mb(capped)}` : '',
      uncapped ? `cap raised to ${uncapped.maxKeys.toLocaleString('en-US')}: ${uncapped.keysHeld.toLocaleString('en-US')} keys, ${mb(uncapped)}` : '',
    ].filter(Boolean);
    const bounded = capped !== undefined && capped.keysHeld <= capped.maxKeys && capped.maxKeys < capped.clients;
    const small = [capped, uncapped].some((m) => m !== undefined && m.keysHeld === m.clients && m.rssAfter < 250 * MB);
    targets.push({
      target: '1 000 000 clients under 250 MB RSS or capped',
      where: `memory store, ${(capped ?? uncapped)!.clients.toLocaleString('en-US')} clients`,
      measured: parts.join('; '),
      met: bounded || small,
    });
  }
  return targets;
}
