/**
 * The documentation's code is real: in README.md and every Markdown file
 * under docs/, every `ts` block type-checks against the library (and the
 * sample, for relative imports), every block marked
 * `<!-- excerpt: sample/... -->` is copied from that file, and every `json`
 * block parses. A failure names the Markdown file, the line and the block.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/processes/app-process';
import { blockFileName, documentation, locateError, typeCheck, type MarkdownFile } from '../helpers/readme-blocks';

const root = repoRoot();
const docs = documentation(root);
const typescriptOf = (doc: MarkdownFile) => doc.blocks.filter((block) => block.lang === 'ts');

/** The lines of `text`, trailing spaces and blank lines at both ends dropped. */
function normalized(text: string): string {
  return text.replace(/[ \t]+$/gm, '').trim();
}

it('has TypeScript examples to check, and no unchecked TypeScript or JavaScript fence', () => {
  expect(docs.map((doc) => doc.path)).toContain('docs/guide.md');
  expect(docs.flatMap(typescriptOf).length).toBeGreaterThanOrEqual(25);
  const unchecked = docs.flatMap((doc) =>
    doc.blocks
      .filter((block) => ['typescript', 'js', 'javascript', 'tsx'].includes(block.lang))
      .map((block) => `${doc.path} line ${block.line}: \`\`\`${block.lang}`),
  );
  expect(unchecked).toEqual([]);
});

describe('every ts block type-checks (placed in sample/, with the repository tsconfig)', () => {
  let errors: string[] = [];
  beforeAll(() => {
    // One program for every file: a block becomes sample/<file>--L<line>.ts, so `./auth/token-auth.guard` is the sample's guard.
    const sources = new Map(
      docs.flatMap((doc) =>
        typescriptOf(doc)
          .filter((block) => block.excerptOf === undefined)
          .map((block) => [blockFileName(root, doc, block), block.code] as const),
      ),
    );
    errors = typeCheck(root, sources).map((error) => locateError(error, root, docs));
  }, 120_000);

  it.each(docs.map((doc) => doc.path))('%s', (path) => {
    expect(errors.filter((error) => error.startsWith(`${path}:`))).toEqual([]);
  });

  it('and no error is left unattributed to a Markdown file', () => {
    expect(errors.filter((error) => !docs.some((doc) => error.startsWith(`${doc.path}:`)))).toEqual([]);
  });
});

describe('every excerpt is copied from its file, piece by piece (pieces are separated by `// ...` lines)', () => {
  it('there are excerpts to compare', () => {
    expect(docs.flatMap(typescriptOf).filter((block) => block.excerptOf !== undefined).length).toBeGreaterThanOrEqual(
      5,
    );
  });

  it.each(docs.map((doc) => doc.path))('%s', (path) => {
    const doc = docs.find((d) => d.path === path) as MarkdownFile;
    const stale: string[] = [];
    for (const block of typescriptOf(doc).filter((b) => b.excerptOf !== undefined)) {
      let source: string;
      try {
        source = normalized(readFileSync(join(root, block.excerptOf as string), 'utf8'));
      } catch {
        stale.push(`${doc.path} line ${block.line}: ${block.excerptOf} cannot be read`);
        continue;
      }
      let from = 0;
      for (const piece of block.code
        .split(/^\s*\/\/ \.\.\.\s*$/m)
        .map(normalized)
        .filter((p) => p !== '')) {
        const at = source.indexOf(piece, from);
        if (at === -1) {
          stale.push(`${doc.path} line ${block.line}: not found in ${block.excerptOf} (in order):\n${piece}`);
          break;
        }
        from = at + piece.length;
      }
    }
    expect(stale).toEqual([]);
  });
});

it('every json block parses', () => {
  const broken = docs.flatMap((doc) =>
    doc.blocks
      .filter((block) => block.lang === 'json')
      .filter((block) => {
        try {
          JSON.parse(block.code);
          return false;
        } catch {
          return true;
        }
      })
      .map((block) => `${doc.path} line ${block.line}`),
  );
  expect(broken).toEqual([]);
});
