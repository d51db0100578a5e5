/**
 * `npm pack` produces a package a separate Nest app can install and use: the
 * tarball is built, unpacked into a throwaway app's node_modules, the app is
 * compiled with tsc against the shipped .d.ts and run with plain Node (CJS).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Jest runs from the repository root (npm test).
const root = process.cwd();
let work: string;

describe('the npm package', () => {
  beforeAll(() => {
    // Outside the repository: inside it, Node would resolve 'restflow-throttle' to the repository itself
    // (package self-reference) instead of the installed tarball.
    work = mkdtempSync(join(tmpdir(), 'restflow-pack-'));
    mkdirSync(join(work, 'node_modules'));
    // The app's other dependencies (Nest, rxjs...) are the repository's, linked in as an install would put them.
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (!name.startsWith('.')) symlinkSync(join(root, 'node_modules', name), join(work, 'node_modules', name));
    }
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs into a separate app, type-checks, and throttles', () => {
    // Built and packed in a staging copy, so the repository's own dist/ (used by other tests) is never touched.
    const stage = join(work, 'stage');
    mkdirSync(stage);
    cpSync(join(root, 'package.json'), join(stage, 'package.json'));
    cpSync(join(root, 'README.md'), join(stage, 'README.md'));
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    execFileSync(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: root, stdio: 'pipe' });
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: stage, stdio: 'pipe' });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    execFileSync('tar', ['xzf', join(work, tarball!), '-C', work]);
    cpSync(join(work, 'package'), join(work, 'node_modules', 'restflow-throttle'), { recursive: true });
    const files = readdirSync(join(work, 'node_modules', 'restflow-throttle'));
    expect(files).toEqual(expect.arrayContaining(['dist', 'package.json', 'README.md']));
    expect(files).not.toContain('lib');

    cpSync(join(root, 'test', 'package', 'consumer-app.ts.txt'), join(work, 'app.ts'));
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          strict: true,
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          // As Nest's starter does; lru-cache's own typings (via cache-manager) do not pass TS 6 lib checks.
          skipLibCheck: true,
          types: ['node'],
          outDir: 'out',
        },
        files: ['app.ts'],
      }),
    );
    execFileSync(tsc, ['-p', join(work, 'tsconfig.json')], { cwd: work, stdio: 'pipe' });
    const output = execFileSync(process.execPath, [join(work, 'out', 'app.js')], { cwd: work, encoding: 'utf8' });
    const results = JSON.parse(output) as Array<{ status: number; retryAfter: string | null; body: unknown }>;
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(results[3]).toEqual({
      status: 429,
      retryAfter: '60',
      body: { detail: 'Request was throttled. Expected available in 60 seconds.' },
    });
  }, 120_000);
});
