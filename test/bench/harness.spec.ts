/**
 * A second-long smoke run of the benchmark harness (bench/), so that it cannot
 * rot between `npm run bench` runs. It checks that each piece runs and reports
 * sane shapes, never how fast anything is: timings belong to the bench.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchApp } from '../../bench/app';
import { renderChart } from '../../bench/chart';
import { loadConfig, type Limiter } from '../../bench/config';
import { measureDecisions } from '../../bench/decisions';
import type { HttpSample } from '../../bench/http';
import { clientAddress, runLoad } from '../../bench/load';
import { measureMemory } from '../../bench/memory';
import { summariseProfile } from '../../bench/profile';
import { renderReport } from '../../bench/report';
import { evaluateTargets, type BenchResults } from '../../bench/summary';

describe('benchmark harness (smoke)', () => {
  it('reads its knobs from the environment', () => {
    const config = loadConfig({ BENCH_DURATION: '2', BENCH_ROUNDS: '4', BENCH_LIMITERS: 'none,restflow-memory' }, '/repo');
    expect(config).toMatchObject({ duration: 2, rounds: 4, limiters: ['none', 'restflow-memory'], outDir: '/repo/bench' });
    expect(() => loadConfig({ BENCH_LIMITERS: 'nope' })).toThrow(/unknown 'nope'/);
    expect(clientAddress(0)).toBe('10.0.0.1');
    expect(clientAddress(70_000)).toBe('10.1.17.113');
  });

  it('serves, loads, measures decisions and memory, and renders RESULTS.md and the chart', async () => {
    const http: HttpSample[] = [];
    // @nestjs/throttler is left out: Jest's loader on Node 20 cannot require() Nest 12's ES modules from it.
    for (const limiter of ['none', 'noop-guard', 'restflow-memory'] as Limiter[]) {
      const bench = await createBenchApp({ platform: 'fastify', limiter });
      try {
        await bench.app.listen(0, '127.0.0.1');
        const { port } = bench.app.getHttpServer().address() as { port: number };
        const result = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, duration: 1, amount: 200, keys: 8 });
        expect(result.total).toBeGreaterThan(0);
        expect(result.non2xx + result.errors).toBe(0);
        http.push({ platform: 'fastify', limiter, keys: 8, round: 0, result, serverRss: process.memoryUsage().rss, serverCpu: 0.1 });
      } finally {
        await bench.close();
      }
    }

    const decisions = await measureDecisions({ store: 'memory', limits: [10, 100], seconds: 0.02, rounds: 1 });
    expect(decisions.map((d) => [d.limit, d.unexpected])).toEqual([
      [10, 0],
      [100, 0],
    ]);
    for (const d of decisions) expect(d.allowedPerSec).toBeGreaterThan(0);

    const memory = await measureMemory({ clients: 3000, maxKeys: 1000 });
    expect(memory).toMatchObject({ clients: 3000, keysHeld: 1000, maxKeys: 1000, defaultCap: false });

    const results: BenchResults = {
      startedAt: 'start',
      finishedAt: 'end',
      command: 'smoke',
      settings: { rounds: 1, connections: 2, duration: 0.25, warmup: 0, manyKeys: 8, decisionSeconds: 0.02 },
      machine: { cpu: 'cpu', cores: 2, pinning: 'none', node: process.version, loadBefore: [0, 0, 0], loadAfter: [0, 0, 0], otherProcesses: [] },
      commit: 'abc',
      versions: { '@nestjs/core': 'x' },
      http,
      decisions,
      redisCommandsPerDecision: {},
      memory: [memory],
      profiles: [],
    };
    const targets = evaluateTargets(results);
    expect(targets.find((t) => t.target.startsWith('memory path'))?.met).not.toBeNull();
    expect(targets.find((t) => t.target.startsWith('Redis path'))?.met).toBeNull();
    expect(renderReport(results)).toContain('| fastify, 8 keys |');
    expect(renderChart(results)).toMatch(/^<svg[\s\S]*restflow-throttle, memory[\s\S]*<\/svg>\n$/);
  });

  it('attributes profile samples to the library, the competitor and the runtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
    try {
      const file = join(dir, 'x.cpuprofile');
      const frame = (id: number, functionName: string, url: string, hitCount: number, children: number[] = []) => ({
        id,
        callFrame: { functionName, url, lineNumber: 0 },
        hitCount,
        children,
      });
      const profile = {
        nodes: [
          frame(1, '(root)', '', 0, [2, 5, 6]),
          frame(2, 'canActivate', 'file:///x/node_modules/restflow-throttle/dist/throttle.guard.js', 1, [3]),
          frame(3, 'get', '', 2),
          frame(5, '(idle)', '', 10),
          frame(6, 'increment', 'file:///x/node_modules/@nestjs/throttler/dist/throttler.service.js', 1),
        ],
      };
      writeFileSync(file, JSON.stringify(profile));
      const summary = summariseProfile(file, 'synthetic');
      expect(summary.busySamples).toBe(4);
      expect(summary.inclusive).toEqual([
        { area: 'restflow-throttle', share: 0.75 },
        { area: '@nestjs/throttler', share: 0.25 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
