import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';

/**
 * `@nest-lab/throttler-storage-redis` declares peers only up to Nest 11, so
 * it cannot be a root devDependency without `legacy-peer-deps` for the whole
 * project. It lives in `bench/competitors` (its own lockfile, installed with
 * `legacy-peer-deps` by `npm run bench`), and its peers (@nestjs/*,
 * @nestjs/throttler, ioredis) resolve from the root node_modules, so it runs
 * against exactly the Nest and ioredis the rest of the bench uses.
 */
export const COMPETITORS_DIR = join('bench', 'competitors');
const NEST_LAB = '@nest-lab/throttler-storage-redis';

type NestLabStorage = new (redis: Redis) => ThrottlerStorage;

export function competitorsInstalled(root: string): boolean {
  return existsSync(join(root, COMPETITORS_DIR, 'node_modules', NEST_LAB, 'package.json'));
}

/** `npm ci` of the bench-only folder; a no-op once installed. */
export function installCompetitors(root: string): void {
  if (competitorsInstalled(root)) return;
  const dir = join(root, COMPETITORS_DIR);
  console.log(`Installing ${NEST_LAB} into ${COMPETITORS_DIR} (legacy-peer-deps, bench only)...`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const run = spawnSync(npm, ['ci', '--legacy-peer-deps', '--no-audit', '--no-fund', '--prefix', dir], { stdio: 'inherit' });
  if (run.status !== 0 || !competitorsInstalled(root)) throw new Error(`npm ci in ${COMPETITORS_DIR} failed`);
}

/** The storage class, loaded from the bench-only folder. */
export function loadNestLabRedisStorage(root: string): NestLabStorage {
  const requireFromCompetitors = createRequire(join(root, COMPETITORS_DIR, 'package.json'));
  const loaded = requireFromCompetitors(NEST_LAB) as { ThrottlerStorageRedisService: NestLabStorage };
  return loaded.ThrottlerStorageRedisService;
}

/** Installed version of a package as Node resolves it from `from` (the root by default). */
export function installedVersion(root: string, name: string, from = root): string {
  try {
    const requireFrom = createRequire(join(from, 'package.json'));
    const manifest = requireFrom.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    // Packages whose exports hide package.json: walk node_modules directly.
    for (const base of [from, root]) {
      const path = join(base, 'node_modules', name, 'package.json');
      if (existsSync(path)) return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
    }
    return 'not installed';
  }
}
