/**
 * The shape of lib/: no import cycle (a value import that loops back makes
 * load order matter and splits a concept across files) and no file over 300
 * lines (one concept a file). Type-only imports are erased at build time and
 * do not count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = resolve(process.cwd(), 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The lib files a file imports as values (`import type` and `export type` left out). */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm)) {
    const clause = match[0];
    // `import { type A, type B } from` is type-only too.
    const names = /\{([^}]*)\}/.exec(clause)?.[1];
    if (names !== undefined && !/\bfrom\b[^{]*$/.test(clause.split('{')[0]) && names.split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    const target = resolve(dirname(file), match[1]);
    const candidates = [`${target}.ts`, join(target, 'index.ts')];
    const hit = candidates.find((c) => { try { return statSync(c).isFile(); } catch { return false; } });
    if (hit !== undefined) found.push(hit);
  }
  return found;
}

describe('lib/', () => {
  const files = sources(LIB);

  it('has no import cycle', () => {
    const graph = new Map(files.map((f) => [f, valueImports(f)]));
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

  it('has no file over 300 lines', () => {
    const long = files
      .map((f) => ({ file: relative(LIB, f), lines: readFileSync(f, 'utf8').replace(/\n$/, '').split('\n').length }))
      .filter(({ lines }) => lines > 300);
    expect(long).toEqual([]);
  });
});
