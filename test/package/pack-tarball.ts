/**
 * `npm pack` of the repository, as a user installing from a clone would get it, without touching the
 * repository's own dist/ (other tests and `npm start` use it): the package's files and its build inputs
 * are copied to a staging folder, built there with the package's build script, and packed.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './consumer-install';

/** What `npm run build` reads besides lib/. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'tsconfig.build.esm.json', 'scripts/build-package.mjs'];

/** Builds and packs the package found at `root` into `into`; returns the tarball's path. */
export function packTarball(root: string, into: string): string {
  const stage = join(into, 'stage');
  mkdirSync(stage, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files?: string[] };
  const shipped = (manifest.files ?? []).filter((entry) => entry !== 'dist');
  for (const entry of ['package.json', ...shipped, ...BUILD_INPUTS]) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
  // The build the tarball gets from `prepack`, run here explicitly so a build error names itself.
  run('npm', ['run', 'build'], { cwd: stage });
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', into], { cwd: stage });
  const tarball = readdirSync(into).find((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${into}`);
  return join(into, tarball);
}
