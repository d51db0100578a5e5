/**
 * The shape of lib/: no import cycle (a value import that loops back makes
 * load order matter and splits a concept across files) and no file over 300
 * lines (one concept a file). Type-only imports count too: they are erased at
 * build time, but a type cycle still ties two concepts together. And the
 * borders around test/: scripts/ and test/ do not import each other, bench/
 * does not import test/, and the specs `npm run test:unit` runs reach no
 * helper that starts a redis-server or installs the package.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { SERVER_SUITES } from '../../jest.config';

const LIB = resolve(process.cwd(), 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The lib files a file imports, type-only imports included: a type cycle ties two concepts together as much as a value one. */
function libImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)) {
    const target = resolve(dirname(file), match[1]);
    const candidates = [`${target}.ts`, join(target, 'index.ts')];
    const hit = candidates.find((c) => {
      try {
        return statSync(c).isFile();
      } catch {
        return false;
      }
    });
    if (hit !== undefined) found.push(hit);
  }
  return found;
}

describe('lib/', () => {
  const files = sources(LIB);

  it('has no import cycle, type-only imports included', () => {
    const graph = new Map(files.map((f) => [f, libImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(LIB, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('opens every file with a comment that says what it is for', () => {
    const silent = files.filter((f) => !/^\s*(\/\*\*|\/\/)/.test(readFileSync(f, 'utf8'))).map((f) => relative(LIB, f));
    expect(silent).toEqual([]);
  });

  it('has no file over 300 lines', () => {
    const long = files
      .map((f) => ({ file: relative(LIB, f), lines: readFileSync(f, 'utf8').replace(/\n$/, '').split('\n').length }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });
});

/** Every relative module specifier of a file (static, type-only, side-effect, `import()`, `require()`), resolved. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const pattern = /(?:\bfrom\s+|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g;
  return [...text.matchAll(pattern)].map((match) => resolve(dirname(file), match[1]));
}

/** The code files under `dir` (node_modules, build output and the bench's installed competitors left out). */
function codeUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ['node_modules', '.build', 'competitors'].includes(entry.name) ? [] : codeUnder(path);
    }
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

describe('scripts/, test/ and bench/', () => {
  const ROOT = process.cwd();
  const inside = (folder: string) => (path: string) =>
    path === resolve(ROOT, folder) || path.startsWith(`${resolve(ROOT, folder)}/`);
  const crossings = (from: string, to: string) =>
    codeUnder(resolve(ROOT, from)).flatMap((file) =>
      relativeImports(file)
        .filter(inside(to))
        .map((target) => `${relative(ROOT, file)} -> ${relative(ROOT, target)}`),
    );

  it('scripts/ and test/ do not import each other, and bench/ does not import test/', () => {
    const found = [...crossings('scripts', 'test'), ...crossings('test', 'scripts'), ...crossings('bench', 'test')];
    expect(found).toEqual([]);
  });

  it('no spec that `npm run test:unit` runs reaches a redis-server or package-install helper', () => {
    const serverSuite = (path: string) => SERVER_SUITES.some((folder) => inside(folder)(path));
    const serverHelpers = ['redis-server', 'redis-cluster'].map((helper) => resolve(ROOT, 'test/helpers', helper));
    const forbidden = (path: string) => serverSuite(path) || serverHelpers.includes(path);
    const specs = codeUnder(resolve(ROOT, 'test')).filter(
      (file) => /\.(e2e-)?spec\.ts$/.test(file) && !serverSuite(file),
    );
    expect(specs.length).toBeGreaterThan(40);
    const reached: string[] = [];
    for (const spec of specs) {
      const seen = new Set<string>();
      const queue = [spec];
      while (queue.length > 0) {
        const file = queue.pop() as string;
        for (const target of relativeImports(file).filter(inside('test'))) {
          if (forbidden(target)) reached.push(`${relative(ROOT, spec)} -> ${relative(ROOT, target)}`);
          const source = [`${target}.ts`, target, join(target, 'index.ts')].find((candidate) =>
            statSync(candidate, { throwIfNoEntry: false })?.isFile(),
          );
          if (source !== undefined && !seen.has(source)) {
            seen.add(source);
            queue.push(source);
          }
        }
      }
    }
    expect(reached).toEqual([]);
  });
});
