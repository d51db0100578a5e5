import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';

/** The HTTP platforms every scenario runs on. */
export const PLATFORMS = ['fastify', 'express'] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * What guards the route. `none` is the baseline every ratio divides by;
 * `noop-guard` is a global guard that returns `true`, which isolates what
 * Nest's guard pipeline costs from what a limiter costs.
 */
export const LIMITERS = [
  'none',
  'noop-guard',
  'restflow-memory',
  'nestjs-throttler-memory',
  'restflow-redis',
  'nestjs-throttler-redis',
] as const;
export type Limiter = (typeof LIMITERS)[number];

export const LIMITER_LABELS: Record<Limiter, string> = {
  none: 'no guard',
  'noop-guard': 'no-op global guard',
  'restflow-memory': 'restflow-throttle, memory',
  'nestjs-throttler-memory': '@nestjs/throttler, memory',
  'restflow-redis': 'restflow-throttle, Redis',
  'nestjs-throttler-redis': '@nestjs/throttler + @nest-lab Redis storage',
};

export function usesRedis(limiter: Limiter): boolean {
  return limiter.endsWith('-redis');
}

/**
 * Every request must be allowed, so both libraries get a limit far above any
 * run's request count, over the same one-minute window (a common production
 * setting; no entry expires during a run).
 */
export const ALLOW_ALL_LIMIT = 1_000_000_000;
export const WINDOW_SECONDS = 60;

/** Knobs, all from the environment so a quick or a thorough run needs no code change. */
export interface BenchConfig {
  /** Measured seconds per HTTP run. */
  duration: number;
  /** Unmeasured seconds of load before each HTTP run (JIT, connection setup). */
  warmup: number;
  /** Interleaved rounds; medians are over rounds. */
  rounds: number;
  connections: number;
  /** Distinct client keys of the "many keys" scenario. */
  manyKeys: number;
  /** Limits of the decision micro-benchmark. */
  decisionLimits: number[];
  /** Seconds each decision measurement runs for. */
  decisionSeconds: number;
  /** Clients of the memory benchmark. */
  memoryClients: number;
  /** Whether to record `node --cpu-prof` profiles of the restflow variants (and of any missed target). */
  profile: boolean;
  /** Cores for the server and for the load generator (and redis-server), when `taskset` exists. */
  serverCore: number;
  loadCore: number;
  /** Where RESULTS.md, results.svg and results.json go. */
  outDir: string;
  /** Compiled bench scripts and scratch files. */
  buildDir: string;
  /** Package root (the bench runs from it). */
  root: string;
  platforms: Platform[];
  limiters: Limiter[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, root = process.cwd()): BenchConfig {
  const num = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
    return value;
  };
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const raw = env[name];
    if (!raw) return [...all];
    const picked = raw.split(',').map((s) => s.trim()) as T[];
    for (const item of picked) if (!all.includes(item)) throw new Error(`${name}: unknown '${item}' (known: ${all.join(', ')})`);
    return picked;
  };
  const cores = availableParallelism();
  return {
    duration: num('BENCH_DURATION', 4),
    warmup: num('BENCH_WARMUP', 1),
    rounds: Math.max(1, Math.round(num('BENCH_ROUNDS', 4))),
    connections: Math.max(1, Math.round(num('BENCH_CONNECTIONS', 50))),
    manyKeys: Math.max(2, Math.round(num('BENCH_KEYS', 10_000))),
    decisionLimits: (env.BENCH_LIMITS ?? '10,1000,100000').split(',').map(Number),
    decisionSeconds: num('BENCH_DECISION_SECONDS', 1),
    memoryClients: Math.round(num('BENCH_MEMORY_CLIENTS', 1_000_000)),
    profile: env.BENCH_PROFILE !== '0',
    serverCore: 0,
    loadCore: cores > 1 ? 1 : 0,
    outDir: resolve(root, env.BENCH_OUT ?? 'bench'),
    buildDir: join(root, 'bench', '.build'),
    root,
    platforms: list('BENCH_PLATFORMS', PLATFORMS),
    limiters: list('BENCH_LIMITERS', LIMITERS),
  };
}
