/**
 * The pure parts of the benchmark (bench/report.ts): ratios, the refusal to write results from a dirty tree,
 * and the report with its targets. No timing is asserted: timings belong to `npm run bench`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientAddress, dirtyTreeRefusal, median, ratio, table } from '../../bench/report';
import { HTTP, LIMITERS, renderReport, targets, type Results, type Samples } from '../../bench/report';

describe('bench statistics', () => {
  it('medians, client addresses, ratio spreads and tables', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(clientAddress(0)).toBe('10.0.0.1');
    expect(clientAddress(70_000)).toBe('10.1.17.113');
    expect(ratio({ 'x none': [2], 'x a': [3] }, 'x', 'a')).toEqual({ median: 1.5, text: '1.50x (1.50-1.50)' });
    const spread = ratio({ 'x none': [10, 10, 10], 'x a': [9, 11, 9.5] }, 'x', 'a');
    expect(spread.text).toBe('0.95x (0.90-1.10)');
    expect(table([{ a: 1234.5, b: 'x' }, { a: 2, b: 'y' }])).toBe('| a | b |\n| --- | --- |\n| 1,235 | x |\n| 2 | y |');
  });

  it('divides each run by the base run (no guard unless named) of its own platform, client count and round', () => {
    const samples: Samples = {
      'fastify 1 none': [100, 200],
      'fastify 1 ours-memory': [90, 160],
      'fastify 1 peer-redis': [45, 80],
      'express 1 none': [10],
      'express 1 ours-memory': [10],
    };
    expect(ratio(samples, 'fastify 1', 'ours-memory').median).toBeCloseTo(0.85); // rounds 0.9 and 0.8
    expect(ratio(samples, 'fastify 1', 'ours-memory').text).toBe('0.85x (0.80-0.90)');
    expect(ratio(samples, 'fastify 1', 'ours-memory', 'peer-redis').text).toBe('2.00x (2.00-2.00)');
    expect(ratio(samples, 'express 1', 'ours-memory').text).toBe('1.00x (1.00-1.00)');
    expect(ratio(samples, 'fastify 100', 'ours-memory').median).toBeNaN(); // no runs
  });
});

describe('results name a clean commit', () => {
  it('refuses any change, untracked files included, and lists them', () => {
    expect(dirtyTreeRefusal('')).toBeNull();
    expect(dirtyTreeRefusal('\n')).toBeNull();
    const refusal = dirtyTreeRefusal(' M lib/x.ts\n?? scratch.ts\n');
    expect(refusal).toMatch(/only from a clean tree/);
    expect(refusal).toContain(' M lib/x.ts');
    expect(refusal).toContain('?? scratch.ts');
  });

  it('reads a real repository as git reports it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-git-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    try {
      git('init', '-q');
      writeFileSync(join(dir, 'a.ts'), 'one');
      git('add', 'a.ts');
      git('commit', '-qm', 'one');
      expect(dirtyTreeRefusal(git('status', '--porcelain'))).toBeNull();
      writeFileSync(join(dir, 'a.ts'), 'two');
      expect(dirtyTreeRefusal(git('status', '--porcelain'))).toContain('a.ts');
      writeFileSync(join(dir, 'b.ts'), 'untracked');
      expect(dirtyTreeRefusal(git('status', '--porcelain'))).toContain('?? b.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the report', () => {
  const share: Record<string, number> = { none: 100, 'empty-guard': 98, 'map-guard': 97, 'ours-memory': 96, 'ours-redis': 70, 'peer-memory': 40 };
  const samples: Samples = Object.fromEntries(['fastify', 'express'].flatMap((platform) => [1, HTTP.keys].flatMap((keys) =>
    LIMITERS.map((limiter) => [`${platform} ${keys} ${limiter}`, [0, 1].map((round) =>
      // Round 1 runs twice as fast (a quieter machine), and ours on Redis a little less so.
      (round + 1) * (limiter === 'ours-redis' && round === 1 ? 68 : (share[limiter] ?? 50)))]))));
  const results: Results = {
    commit: 'abc123',
    environment: 'Node vX',
    minutes: 7,
    samples,
    decisions: [
      { store: 'memory', algorithm: 'sliding-log', limit: 10, 'allowed/s': 1000, 'denied/s': 900 },
      { store: 'memory', algorithm: 'sliding-log', limit: 100_000, 'allowed/s': 500, 'denied/s': 900 },
    ],
    memory: [{ store: 'redis', algorithm: 'gcra', limit: 100_000, keys: 100, 'bytes per key': 104 }],
    worst: { store: 'redis', limit: 300_000, 'worst script, µs': 250 },
  };

  it('checks each goal of issues 13 and 9 against the medians', () => {
    expect(targets(results).map(({ goal, measured, met }) => [goal, measured, met])).toEqual([
      ['Fastify, 1 client(s): ours-redis >= 1.5x peer-redis', '1.38x (1.36-1.40)', false],
      ['Fastify, 10000 client(s): ours-redis >= 1.5x peer-redis', '1.38x (1.36-1.40)', false],
      ['Fastify, 1 client(s): ours-redis >= 0.65x none', '0.69x (0.68-0.70)', true],
      ['Fastify, 10000 client(s): ours-redis >= 0.65x none', '0.69x (0.68-0.70)', true],
      ['Fastify, 10000 client(s): ours-memory >= 0.95x none', '0.96x (0.96-0.96)', true],
      ['Lua: 300000 timestamps expiring at once, worst script < 5 ms', '250 µs', true],
    ]);
    expect(targets({ ...results, samples: {} })[0].met).toBe(false); // no runs, no goal met
    expect(targets({ ...results, worst: { ...results.worst, 'worst script, µs': 5000 } }).at(-1)?.met).toBe(false);
  });

  it('names the commit and shows every table', () => {
    const report = renderReport(results);
    expect(report).toContain('Commit `abc123` (clean tree)');
    expect(report).toContain('| Fastify, 1 client(s): ours-redis >= 1.5x peer-redis | 1.38x (1.36-1.40) | **no** |');
    expect(report).toContain('| platform | clients | none, req/s | empty-guard | map-guard | ours-memory | ours-redis | peer-memory |');
    expect(report).toContain('| fastify | 1 | 150 | 0.98x (0.98-0.98) | 0.97x (0.97-0.97) | 0.96x (0.96-0.96) | 0.69x (0.68-0.70) | 0.40x (0.40-0.40) | 0.50x');
    expect(report).toContain('| store | algorithm | limit | allowed/s | denied/s |');
    expect(report).toContain('| memory | sliding-log | 100,000 | 500 | 900 |');
    expect(report).toContain('| redis | gcra | 100,000 | 100 | 104 |');
    expect(report).toContain('| redis | 300,000 | 250 |');
  });
});
