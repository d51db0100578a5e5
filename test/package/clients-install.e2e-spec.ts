/**
 * `npm install @nestjs/cache-manager cache-manager keyv @keyv/redis` next to
 * restflow-throttle resolves, in any order, with no ERESOLVE: cache-manager
 * is an optional peer accepting 5, 6 and 7, not a dependency pinned to 5.
 * The design card's pair, cache-manager 5 + cache-manager-ioredis-yet, too.
 *
 * Each scenario starts from a fresh Nest 12 app and runs `npm install` once
 * per step, from the registry, resolving only (`--package-lock-only`: ERESOLVE
 * is a resolution error; the packed-app tests install and run the package).
 * Work directories live under ~/.cache/restflow-throttle and npm's own cache
 * serves repeated runs (`--prefer-offline`). The tarball is packed from the
 * repository's package.json; resolution reads nothing else from it.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = process.cwd();
const work = join(homedir(), '.cache', 'restflow-throttle', `clients-install-${process.pid}`);
let tarball: string;

const NEST_APP = ['@nestjs/common@^12', '@nestjs/core@^12', '@nestjs/platform-express@^12', 'reflect-metadata', 'rxjs'];

async function npm(dir: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(
      'npm',
      [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=warn'],
      { cwd: dir, timeout: 180_000 },
    );
    return stdout + stderr;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `npm ${args.join(' ')} failed in ${dir}:\n${failure.stderr ?? ''}${failure.stdout ?? ''}${failure.message}`,
    );
  }
}

beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  const stage = join(work, 'stage');
  mkdirSync(stage, { recursive: true });
  cpSync(join(root, 'package.json'), join(stage, 'package.json'));
  await npm(stage, ['pack', '--ignore-scripts', '--pack-destination', work]);
  tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz')) as string);
  // The fresh Nest app every scenario starts from, resolved once.
  const base = join(work, 'nest-app');
  mkdirSync(base);
  writeFileSync(join(base, 'package.json'), JSON.stringify({ name: 'nest-app', version: '0.0.0', private: true }));
  await npm(base, ['install', '--package-lock-only', ...NEST_APP]);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh app: a package.json, then each step as one `npm install`. Returns the resolved versions. */
async function install(name: string, steps: ReadonlyArray<readonly string[]>): Promise<Record<string, string>> {
  const app = join(work, name);
  cpSync(join(work, 'nest-app'), app, { recursive: true });
  for (const step of steps) {
    const output = await npm(app, [
      'install',
      '--package-lock-only',
      ...step.map((spec) => (spec === 'TARBALL' ? tarball : spec)),
    ]);
    expect(output).not.toMatch(/ERESOLVE/);
  }
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  return Object.fromEntries(
    Object.entries(lock.packages).map(([path, entry]) => [path.replace(/^node_modules\//, ''), entry.version ?? '']),
  );
}

const KEYV_STACK = ['@nestjs/cache-manager', 'cache-manager', 'keyv', '@keyv/redis'];

it.each([
  ['restflow-throttle first, then each package', [['TARBALL'], ...KEYV_STACK.map((spec) => [spec])]],
  ['each package first, restflow-throttle last', [...KEYV_STACK.map((spec) => [spec]), ['TARBALL']]],
  [
    'restflow-throttle between them, in reverse',
    [['@keyv/redis'], ['keyv'], ['TARBALL'], ['cache-manager'], ['@nestjs/cache-manager']],
  ],
  ['all in one command', [['TARBALL', ...KEYV_STACK]]],
])(
  'Nest CacheModule on Keyv/Redis: %s',
  async (name, steps) => {
    const versions = await install(name.replace(/\W+/g, '-'), steps);
    expect(versions['restflow-throttle']).toBe('0.1.0');
    expect(versions['cache-manager']).toMatch(/^7\./);
    expect(versions['@nestjs/cache-manager']).toMatch(/^12\./);
    // One cache-manager in the tree: ours is the app's, not a nested copy pinned to 5.
    expect(
      Object.keys(versions).filter((path) => path.endsWith('node_modules/cache-manager') || path === 'cache-manager'),
    ).toEqual(['cache-manager']);
  },
  300_000,
);

it('the design card pair: cache-manager 5 + cache-manager-ioredis-yet', async () => {
  const versions = await install('cache-manager-5', [['TARBALL'], ['cache-manager@5', 'cache-manager-ioredis-yet']]);
  expect(versions['cache-manager']).toMatch(/^5\./);
  expect(versions['cache-manager-ioredis-yet']).toMatch(/^2\./);
}, 300_000);

it('alone, it brings no cache-manager: the default in-memory store needs none', async () => {
  const versions = await install('alone', [['TARBALL']]);
  expect(versions['restflow-throttle']).toBe('0.1.0');
  expect(Object.keys(versions).filter((path) => path.endsWith('cache-manager'))).toEqual([]);
}, 300_000);
