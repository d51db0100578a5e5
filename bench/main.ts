/**
 * `npm run bench`: the whole benchmark in one go. The npm script first
 * compiles the library into a private copy (bench/.build/node_modules/
 * restflow-throttle, so another `npm run build` wiping dist/ mid-run cannot
 * break it) and the bench itself, then runs this file, which:
 * 1. installs the bench-only competitor (bench/competitors) if needed;
 * 2. starts its own redis-server on a free port;
 * 3. runs the interleaved HTTP matrix, the decision micro-benchmark, the
 *    memory benchmark and the profiles, each in fresh pinned processes;
 * 4. writes bench/results.json, bench/RESULTS.md and bench/results.svg.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { renderChart } from './chart';
import type { ChildMessage } from './child';
import { installCompetitors, installedVersion, COMPETITORS_DIR } from './competitors';
import { loadConfig, usesRedis, LIMITER_LABELS, type BenchConfig } from './config';
import type { DecisionResult, DecisionStore } from './decisions';
import { profileScenario, runHttpMatrix, type Scenario } from './http';
import type { MemoryResult } from './memory';
import { HAS_TASKSET, startChild, startRedis, type RedisServer } from './procs';
import { renderReport } from './report';
import { evaluateTargets, type BenchResults } from './summary';

const log = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Marks bench/.build as its own package, so `restflow-throttle` resolves to the private copy, not to dist/. */
function prepareRuntime(config: BenchConfig): void {
  writeFileSync(join(config.buildDir, 'package.json'), JSON.stringify({ name: 'restflow-throttle-bench', private: true }));
  const copy = join(config.buildDir, 'node_modules', 'restflow-throttle');
  mkdirSync(copy, { recursive: true });
  writeFileSync(join(copy, 'package.json'), JSON.stringify({ name: 'restflow-throttle', main: 'dist/index.js', types: 'dist/index.d.ts' }));
}

async function runChild<T>(config: BenchConfig, role: string, options: object, nodeFlags: string[] = []): Promise<T> {
  const child = startChild<ChildMessage>(join(config.buildDir, 'child.js'), [role, JSON.stringify(options)], config.serverCore, nodeFlags);
  const answer = await child.next((m): m is Extract<ChildMessage, { type: 'result' | 'error' }> => m.type === 'result' || m.type === 'error', 900_000);
  await child.exited;
  if (answer.type === 'error') throw new Error(`${role} failed: ${answer.message}`);
  return answer.result as T;
}

/** The decision micro-benchmark for one store, and (Redis) the commands it cost per decision. */
async function decisions(config: BenchConfig, store: DecisionStore, redis?: RedisServer): Promise<[DecisionResult[], Record<string, number>]> {
  redis?.cli('CONFIG', 'RESETSTAT');
  const options = { store, limits: config.decisionLimits, seconds: config.decisionSeconds, rounds: config.rounds, redisPort: redis?.port };
  const results = await runChild<DecisionResult[]>(config, 'decisions', options);
  const perDecision: Record<string, number> = {};
  if (redis) {
    const made = results.reduce((sum, r) => sum + r.decisionsMade, 0);
    const stats = redis.cli('INFO', 'commandstats');
    for (const [, name, calls] of stats.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) {
      const share = Number(calls) / made;
      // Setup and inspection commands (DEL of the bench keys, INFO, CONFIG...) round to nothing per decision.
      if (made > 0 && share >= 0.01) perDecision[name] = share;
    }
  }
  return [results, perDecision];
}

/** The busiest processes other than this bench (and the npm that started it), by CPU share over their lifetime. */
function otherProcesses(): string[] {
  try {
    const ps = execSync('ps -eo pid,pcpu,comm --sort=-pcpu --no-headers', { encoding: 'utf8' });
    const mine = new Set([process.pid, process.ppid]);
    return ps
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, cpu]) => pid !== undefined && !mine.has(Number(pid)) && Number(cpu) >= 5)
      .map(([, cpu, command]) => `${command} ${cpu}%`)
      .slice(0, 5);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  prepareRuntime(config);
  const startedAt = new Date();
  const loadBefore = loadavg();
  const others = otherProcesses();
  log(`load average ${loadBefore.map((n) => n.toFixed(2)).join(' ')}; ${HAS_TASKSET ? `server on core ${config.serverCore}, load generator and redis-server on core ${config.loadCore}` : 'taskset not found: processes are not pinned'}`);
  if (config.limiters.includes('nestjs-throttler-redis')) installCompetitors(config.root);

  const needRedis = config.limiters.some(usesRedis) || config.decisionLimits.length > 0;
  const redis = needRedis ? await startRedis(config.loadCore) : undefined;
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    command: 'npm run bench',
    settings: {
      duration: config.duration,
      warmup: config.warmup,
      rounds: config.rounds,
      connections: config.connections,
      manyKeys: config.manyKeys,
      decisionSeconds: config.decisionSeconds,
      memoryClients: config.memoryClients,
      platforms: config.platforms.join(','),
      limiters: config.limiters.join(','),
    },
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      pinning: HAS_TASKSET ? `taskset: server core ${config.serverCore}; load generator and redis-server core ${config.loadCore}` : 'none (no taskset)',
      node: process.version,
      loadBefore,
      loadAfter: [],
      otherProcesses: others,
    },
    commit: gitCommit(),
    versions: versions(config, redis),
    http: [],
    decisions: [],
    redisCommandsPerDecision: {},
    memory: [],
    profiles: [],
  };
  try {
    log(`HTTP matrix: ${config.platforms.length * 2 * config.limiters.length} scenarios x ${config.rounds} rounds, ${config.warmup}+${config.duration} s each`);
    results.http = await runHttpMatrix(config, redis, log);

    if (config.decisionLimits.length > 0) {
      log('decision micro-benchmark: memory');
      const [memory] = await decisions(config, 'memory');
      log('decision micro-benchmark: redis');
      const [viaRedis, perDecision] = await decisions(config, 'redis', redis);
      results.decisions = [...memory, ...viaRedis];
      results.redisCommandsPerDecision = perDecision;
    }

    if (config.memoryClients > 0) {
      for (const maxKeys of [undefined, config.memoryClients]) {
        log(`memory: ${config.memoryClients} clients, memoryCacheMaxKeys ${maxKeys ?? 'default'}`);
        results.memory.push(await runChild<MemoryResult>(config, 'memory', { clients: config.memoryClients, maxKeys }, ['--expose-gc']));
      }
    }

    if (config.profile) {
      for (const scenario of profileScenarios(config, results)) {
        const label = `${scenario.platform === 'fastify' ? 'Fastify' : 'Express'}, ${LIMITER_LABELS[scenario.limiter]}, ${scenario.keys === 1 ? '1 key' : `${scenario.keys.toLocaleString('en-US')} keys`}`;
        log(`profile: ${label}`);
        results.profiles.push(await profileScenario(config, scenario, redis, label));
      }
    }
  } finally {
    await redis?.stop();
  }
  results.machine.loadAfter = loadavg();
  results.finishedAt = new Date().toISOString();
  mkdirSync(config.outDir, { recursive: true });
  writeFileSync(join(config.outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(config.outDir, 'RESULTS.md'), renderReport(results));
  writeFileSync(join(config.outDir, 'results.svg'), renderChart(results));
  for (const t of evaluateTargets(results)) log(`target ${t.met === null ? '?' : t.met ? 'met   ' : 'MISSED'} ${t.target} [${t.where}]: ${t.measured}`);
  log(`wrote ${join(config.outDir, 'RESULTS.md')} and results.svg in ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} min`);
}

/** The restflow variants on Fastify, the in-memory competitor for contrast, and every scenario whose target was missed. */
function profileScenarios(config: BenchConfig, results: BenchResults): Scenario[] {
  const wanted: Scenario[] = [
    { platform: 'fastify', limiter: 'none', keys: 1 },
    { platform: 'fastify', limiter: 'restflow-memory', keys: 1 },
    { platform: 'fastify', limiter: 'restflow-memory', keys: config.manyKeys },
    { platform: 'fastify', limiter: 'restflow-redis', keys: 1 },
    { platform: 'fastify', limiter: 'nestjs-throttler-memory', keys: 1 },
  ];
  for (const t of evaluateTargets(results)) {
    if (t.met === false && t.scenario) wanted.push(t.scenario);
    // Beside a missed comparison with the competitor, its own profile.
    if (t.met === false && t.scenario && t.target.includes('@nestjs/throttler')) wanted.push({ ...t.scenario, limiter: 'nestjs-throttler-redis' });
  }
  // Each profiled scenario's no-guard twin, so that the report can say what the limiter adds per request, by area.
  for (const s of [...wanted]) wanted.push({ ...s, limiter: 'none' });
  const seen = new Set<string>();
  return wanted.filter((s) => {
    const id = `${s.platform}|${s.limiter}|${s.keys}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return config.platforms.includes(s.platform) && config.limiters.includes(s.limiter);
  });
}

function gitCommit(): string {
  try {
    const head = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain -- lib', { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.slice(3).trim())
      .filter(Boolean);
    return dirty.length ? `${head} with uncommitted changes to ${dirty.join(', ')}` : head;
  } catch {
    return 'unknown';
  }
}

function versions(config: BenchConfig, redis?: RedisServer): Record<string, string> {
  const root = config.root;
  const names = ['@nestjs/core', '@nestjs/common', '@nestjs/platform-fastify', '@nestjs/platform-express', 'fastify', 'express', '@nestjs/throttler', 'cache-manager', 'cache-manager-ioredis-yet', 'ioredis', 'autocannon'];
  const out: Record<string, string> = { 'restflow-throttle': installedVersion(root, 'restflow-throttle', join(config.buildDir)) };
  for (const name of names) out[name] = installedVersion(root, name);
  out['@nest-lab/throttler-storage-redis'] = installedVersion(root, '@nest-lab/throttler-storage-redis', join(root, COMPETITORS_DIR));
  out['redis-server'] = redis?.version ?? 'not started';
  out.node = process.version;
  return out;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
