/**
 * The README's code is real: every `ts` block type-checks against the
 * library (and the sample, for relative imports), every block marked
 * `<!-- excerpt: sample/... -->` is copied from that file, and every `json`
 * block parses.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../scripts/lib/app-process';
import { codeBlocks, typeCheck } from './helpers/readme-blocks';

const root = repoRoot();
const blocks = codeBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
const typescript = blocks.filter((block) => block.lang === 'ts');

/** The lines of `text`, trailing spaces and blank lines at both ends dropped. */
function normalized(text: string): string {
  return text.replace(/[ \t]+$/gm, '').trim();
}

it('has TypeScript examples to check, and no unchecked TypeScript or JavaScript fence', () => {
  expect(typescript.length).toBeGreaterThanOrEqual(25);
  const unchecked = blocks.filter((block) => ['typescript', 'js', 'javascript', 'tsx'].includes(block.lang));
  expect(unchecked.map((block) => `line ${block.line}: \`\`\`${block.lang}`)).toEqual([]);
});

it('every ts block type-checks (placed in sample/, with the repository tsconfig)', () => {
  // Blocks become sample/readme-L<line>.ts, so `./auth/token-auth.guard` is the sample's guard.
  const sources = new Map(typescript.filter((block) => block.excerptOf === undefined).map((block) => [join(root, 'sample', `readme-L${block.line}.ts`), block.code]));
  expect(typeCheck(root, sources)).toEqual([]);
}, 60_000);

it('every excerpt is copied from its file, piece by piece (pieces are separated by `// ...` lines)', () => {
  const excerpts = typescript.filter((block) => block.excerptOf !== undefined);
  expect(excerpts.length).toBeGreaterThanOrEqual(5);
  const stale: string[] = [];
  for (const block of excerpts) {
    const source = normalized(readFileSync(join(root, block.excerptOf as string), 'utf8'));
    let from = 0;
    for (const piece of block.code.split(/^\s*\/\/ \.\.\.\s*$/m).map(normalized).filter((p) => p !== '')) {
      const at = source.indexOf(piece, from);
      if (at === -1) {
        stale.push(`README line ${block.line}: not found in ${block.excerptOf} (in order):\n${piece}`);
        break;
      }
      from = at + piece.length;
    }
  }
  expect(stale).toEqual([]);
});

it('every json block parses', () => {
  for (const block of blocks.filter((b) => b.lang === 'json')) {
    expect(() => JSON.parse(block.code)).not.toThrow();
  }
});
