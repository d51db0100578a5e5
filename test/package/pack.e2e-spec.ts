/**
 * The package as users get it: `npm pack` of this repository, installed with npm into the apps `nest new`
 * generates for NestJS 12 (test/package/consumers/), and used the way each app runs its code:
 * - CommonJS (`nest new --type cjs`): `tsc` + `node` (this Node and 24), and its Jest e2e as the starter configures
 *   Jest, on Node 24 from the npm registry (the starter's Jest loads ESM-only Nest through require(esm),
 *   which Jest supports from Node 24.9);
 * - ESM (`nest new`, `"type": "module"`): `tsc` + `node`, and its Vitest e2e;
 * - both type-check with `skipLibCheck: false`; stack traces from the package name files that exist.
 * The consumers' dependencies are installed once and cached (see consumer-install.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentation } from '../helpers/readme-blocks';
import { copyConsumerApp, installTarball, installedConsumer, lockConsumers, run } from './consumer-install';
import { packTarball } from './pack-tarball';

// Jest runs from the repository root (npm test).
const root = process.cwd();
const INSTALL_TIMEOUT = 600_000;
const STEP_TIMEOUT = 120_000;

let work: string;
let tarball: string;
const consumers: Record<'cjs' | 'esm', string> = { cjs: '', esm: '' };
const apps: string[] = [];
let lock: { release(): void } | undefined;

/** Where `npm install` put the package in a consumer. */
const installedPackage = (consumer: string): string => join(consumer, 'node_modules', 'restflow-throttle');

beforeAll(async () => {
  // Outside the repository: inside it, 'restflow-throttle' would resolve to the repository itself.
  work = mkdtempSync(join(tmpdir(), 'restflow-pack-'));
  tarball = packTarball(root, work);
  lock = await lockConsumers(INSTALL_TIMEOUT / 2);
  for (const kind of ['cjs', 'esm'] as const) {
    consumers[kind] = installedConsumer(kind);
    installTarball(consumers[kind], tarball);
  }
  node24();
}, INSTALL_TIMEOUT);

afterAll(() => {
  for (const app of apps) rmSync(app, { recursive: true, force: true });
  lock?.release();
  if (work) rmSync(work, { recursive: true, force: true });
});

function newApp(kind: 'cjs' | 'esm'): string {
  const app = copyConsumerApp(kind, consumers[kind]);
  apps.push(app);
  return app;
}

/** Node 24 from the npm registry (the `node` package), installed once like the consumers. */
const node24 = (): string => join(installedConsumer('node24'), 'node_modules', 'node', 'bin', 'node');

const tscIn = (app: string): string => join(app, '..', 'node_modules', 'typescript', 'bin', 'tsc');

describe('the packed tarball', () => {
  it('ships ES modules in dist/, their declarations, and lib/ for the source maps', () => {
    const pkg = installedPackage(consumers.cjs);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './package.json': './package.json',
    });
    expect(JSON.parse(readFileSync(join(pkg, 'dist', 'package.json'), 'utf8'))).toEqual({ type: 'module' });
    expect(readdirSync(pkg).sort()).toEqual(['README.md', 'dist', 'lib', 'package.json']);
    expect(existsSync(join(pkg, 'lib', 'index.ts'))).toBe(true);
  });

  it("has source maps whose every source is a file in the package (stack traces and 'go to definition')", () => {
    const pkg = installedPackage(consumers.cjs);
    const maps = walk(join(pkg, 'dist')).filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    expect(maps.filter((map) => map.endsWith('.d.ts.map')).length).toBeGreaterThan(10);
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      return sources
        .map((source) => resolve(dirname(map), source))
        .filter((source) => !source.startsWith(join(pkg, 'lib')) || !existsSync(source));
    });
    expect(missing).toEqual([]);
  });
});

describe('a CommonJS app as `nest new --type cjs` generates it', () => {
  it(
    'compiles with tsc and, run with node, answers 429 with Retry-After after the limit, printing no warning',
    async () => {
      const app = newApp('cjs');
      run(process.execPath, [tscIn(app), '-p', 'tsconfig.build.json'], { cwd: app });
      // On this Node (20 on CI) and on Node 24.
      for (const node of [process.execPath, node24()]) {
        const served = await serve(app, node, [join(app, 'dist', 'main.js')]);
        expect(served.statuses).toEqual([200, 200, 200, 429, 429]);
        expect(served.last).toEqual({
          retryAfter: '60',
          body: { detail: 'Request was throttled. Expected available in 60 seconds.' },
        });
        expect(served.stderr).toBe('');
      }
    },
    STEP_TIMEOUT,
  );

  it(
    'type-checks src/ and test/ with skipLibCheck: false',
    () => {
      const app = newApp('cjs');
      expect(typeCheck(app)).toBe('');
    },
    STEP_TIMEOUT,
  );

  it(
    'gets one copy of the package from require() and import() (no dual-package hazard)',
    () => {
      const app = newApp('cjs');
      const script = [
        "const required = require('restflow-throttle');",
        "import('restflow-throttle').then((imported) => console.log(JSON.stringify({",
        '  same: required.ThrottledException === imported.ThrottledException,',
        "  file: require.resolve('restflow-throttle'),",
        '})));',
      ].join('\n');
      const output = JSON.parse(run(process.execPath, ['-e', script], { cwd: app })) as { same: boolean; file: string };
      expect(output).toEqual({ same: true, file: join(installedPackage(consumers.cjs), 'dist', 'index.js') });
    },
    STEP_TIMEOUT,
  );

  it(
    "names the package's TypeScript sources in stack traces, files that exist",
    () => {
      const app = newApp('cjs');
      // A malformed rate is an ImproperlyConfiguredError thrown from inside the package.
      const script =
        "const { AnonRateThrottle } = require('restflow-throttle'); try { new AnonRateThrottle().parseRate('5/y'); } catch (error) { console.log(error.stack); }";
      const plain = packageFrames(run(process.execPath, ['-e', script], { cwd: app }));
      const mapped = packageFrames(run(process.execPath, ['--enable-source-maps', '-e', script], { cwd: app }));
      expect(plain.length).toBeGreaterThan(0);
      expect(plain.every((file) => file.includes('/restflow-throttle/dist/') && file.endsWith('.js'))).toBe(true);
      expect(mapped).toEqual(plain.map(() => expect.stringMatching(/\/restflow-throttle\/lib\/.+\.ts$/)));
      expect([...plain, ...mapped].filter((file) => !existsSync(file))).toEqual([]);
    },
    STEP_TIMEOUT,
  );

  it(
    "passes its Jest e2e, run as the starter's `test:e2e` script runs it, on Node 24 from the npm registry",
    () => {
      const version = run(node24(), ['--version'], { cwd: root }).trim();
      expect(version).toMatch(/^v24\./);
      expect(Number(version.split('.')[1])).toBeGreaterThanOrEqual(9);
      const app = newApp('cjs');
      // docs/install.md's Jest example runs beside the starter's own e2e test.
      writeFileSync(join(app, 'test', 'docs-example.e2e-spec.ts'), docsJestExample());
      const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      };
      expect(manifest.scripts['test:e2e']).toBe(
        'node --experimental-vm-modules ./node_modules/jest/bin/jest.js --config ./test/jest-e2e.json',
      );
      const jest = join(app, '..', 'node_modules', 'jest', 'bin', 'jest.js');
      const { stdout, stderr } = runBoth(
        node24(),
        ['--experimental-vm-modules', jest, '--config', './test/jest-e2e.json', '--ci'],
        app,
      );
      expect(`${stdout}${stderr}`).toMatch(/Tests:\s+5 passed, 5 total/);
      // The only warning is Node's own for the flag the starter passes.
      expect(warnings(stderr)).toEqual(
        warnings(stderr).filter((line) => /VM Modules is an experimental feature/.test(line)),
      );
    },
    STEP_TIMEOUT,
  );
});

describe('an ESM app as `nest new` generates it ("type": "module")', () => {
  it(
    'compiles with tsc and, run with node, answers 429 with Retry-After after the limit, printing no warning',
    async () => {
      const app = newApp('esm');
      run(process.execPath, [tscIn(app), '-p', 'tsconfig.build.json'], { cwd: app });
      const served = await serve(app, process.execPath, [join(app, 'dist', 'main.js')]);
      expect(served.statuses).toEqual([200, 200, 200, 429, 429]);
      expect(served.last).toEqual({
        retryAfter: '60',
        body: { detail: 'Request was throttled. Expected available in 60 seconds.' },
      });
      expect(served.stderr).toBe('');
    },
    STEP_TIMEOUT,
  );

  it(
    'type-checks src/ and test/ with skipLibCheck: false',
    () => {
      const app = newApp('esm');
      expect(typeCheck(app)).toBe('');
    },
    STEP_TIMEOUT,
  );

  it(
    'passes its Vitest e2e',
    () => {
      const app = newApp('esm');
      const vitest = join(app, '..', 'node_modules', 'vitest', 'vitest.mjs');
      const { stdout, stderr } = runBoth(process.execPath, [vitest, 'run', '--config', './vitest.config.e2e.ts'], app);
      expect(stdout).toMatch(/Tests\s+4 passed \(4\)/);
      expect(warnings(stderr)).toEqual([]);
    },
    STEP_TIMEOUT,
  );
});

/** The ```ts block of docs/install.md that holds a Jest test. */
function docsJestExample(): string {
  const install = documentation(root).find((doc) => doc.path === 'docs/install.md');
  const block = install?.blocks.find((candidate) => candidate.lang === 'ts' && candidate.code.includes('describe('));
  if (block === undefined) throw new Error('docs/install.md has no ```ts block with a Jest test');
  return block.code;
}

/** `tsc --noEmit` over the whole app (src/ and test/) with skipLibCheck off; returns tsc's output. */
function typeCheck(app: string): string {
  try {
    return run(
      process.execPath,
      [tscIn(app), '-p', 'tsconfig.json', '--noEmit', '--incremental', 'false', '--skipLibCheck', 'false'],
      { cwd: app },
    );
  } catch (error) {
    return (error as Error).message;
  }
}

/** Runs a command that must exit 0 and returns both outputs (a failure throws with them). */
function runBoth(command: string, args: string[], cwd: string): { stdout: string; stderr: string } {
  const errFile = join(cwd, 'stderr.log');
  try {
    const stdout = run('sh', ['-c', '"$@" 2>"$0"', errFile, command, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    return { stdout, stderr: readFileSync(errFile, 'utf8') };
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${existsSync(errFile) ? readFileSync(errFile, 'utf8') : ''}`);
  }
}

/** Warnings printed by Node (`(node:123) ExperimentalWarning: ...`), npm, Jest, ts-jest or Vitest. */
const warnings = (stderr: string): string[] =>
  stderr.split('\n').filter((line) => /warn/i.test(line) && !line.includes('--trace-warnings'));

/** The files of the stack frames that are in the package. */
function packageFrames(stack: string): string[] {
  return [...stack.matchAll(/\(((?:file:\/\/)?\/[^()]+?):\d+:\d+\)$/gm)]
    .map((match) => (match[1].startsWith('file:') ? fileURLToPath(match[1]) : match[1]))
    .filter((file) => file.includes('/restflow-throttle/'));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

interface Served {
  statuses: number[];
  last: { retryAfter: string | null; body: unknown };
  stderr: string;
}

/** Starts `<node> <args>` in `app` on a free port, sends 5 GETs to `/`, stops it. */
async function serve(app: string, node: string, args: string[]): Promise<Served> {
  const child = spawn(node, args, { cwd: app, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stdout);
        if (match) resolveUrl(match[1].replace('[::1]', '127.0.0.1'));
      });
      void exited.then((code) =>
        reject(new Error(`the app exited with ${code} before listening\n${stdout}\n${stderr}`)),
      );
    });
    const statuses: number[] = [];
    let last: Served['last'] = { retryAfter: null, body: null };
    for (let i = 0; i < 5; i++) {
      const response = await fetch(url);
      statuses.push(response.status);
      last = { retryAfter: response.headers.get('retry-after'), body: await response.json().catch(() => null) };
    }
    return { statuses, last, stderr };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}
