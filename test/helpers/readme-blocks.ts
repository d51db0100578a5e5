import ts from 'typescript';
import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** The fence's language, `''` when none. */
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** Set by an `<!-- excerpt: sample/x.ts -->` line right above the fence. */
  readonly excerptOf?: string;
}

/** A Markdown file of the repository and its blocks. */
export interface MarkdownFile {
  /** Relative to the repository root, with `/` separators: `README.md`, `docs/guide.md`. */
  readonly path: string;
  readonly blocks: CodeBlock[];
}

const FENCE = /^```([\w-]*)\s*$/;
const EXCERPT = /^<!--\s*excerpt:\s*(\S+)\s*-->$/;

/** The fenced blocks of `markdown`, in order. Fences must start at the beginning of a line. */
export function codeBlocks(markdown: string, fileName = 'README.md'): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (open === null) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (end === lines.length) throw new Error(`${fileName} line ${start + 1}: code block never closed`);
    let above = start - 1;
    while (above >= 0 && lines[above].trim() === '') above--;
    const excerpt = above >= 0 ? EXCERPT.exec(lines[above].trim()) : null;
    blocks.push({
      lang: open[1],
      code: lines.slice(start + 1, end).join('\n'),
      line: start + 1,
      excerptOf: excerpt?.[1],
    });
    i = end;
  }
  return blocks;
}

/** Every `.md` file under `dir` (recursively), sorted. */
function markdownUnder(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .flatMap((entry) =>
      entry.isDirectory()
        ? markdownUnder(join(dir, entry.name))
        : entry.name.endsWith('.md')
          ? [join(dir, entry.name)]
          : [],
    )
    .sort();
}

/**
 * The documentation whose code is checked: `README.md` and every Markdown
 * file under `docs/` (whoever wrote it), each with its fenced blocks.
 */
export function documentation(root: string): MarkdownFile[] {
  return [join(root, 'README.md'), ...markdownUnder(join(root, 'docs'))].map((file) => {
    const path = relative(root, file).split(sep).join('/');
    return { path, blocks: codeBlocks(readFileSync(file, 'utf8'), path) };
  });
}

/**
 * Where a block is type-checked: a file in `sample/`, so that a relative
 * import (`./auth/token-auth.guard`) reaches the sample's files. The name
 * carries the Markdown file and the block's line, so that errors can be
 * traced back: `sample/docs--guide.md--L42.ts`.
 */
export function blockFileName(root: string, doc: MarkdownFile, block: CodeBlock): string {
  return join(root, 'sample', `${doc.path.replace(/\//g, '--')}--L${block.line}.ts`);
}

/**
 * An error of `typeCheck` (`<file>:<line>:<col> <message>`) on a block's
 * file, told in the reader's terms: the Markdown file, the line in it, and
 * the block. Other errors are returned unchanged.
 */
export function locateError(error: string, root: string, docs: readonly MarkdownFile[]): string {
  for (const doc of docs) {
    for (const block of doc.blocks) {
      const file = blockFileName(root, doc, block);
      if (!error.startsWith(`${file}:`)) continue;
      const [, line, column, message] = /^:(\d+):(\d+) ([\s\S]*)$/.exec(error.slice(file.length)) ?? [];
      if (line === undefined) return error;
      return `${doc.path}:${block.line + Number(line)}:${column} (the \`\`\`${block.lang} block at line ${block.line}) ${message}`;
    }
  }
  return error;
}

/**
 * Type-checks TypeScript sources held in memory as if they were files at the
 * given absolute paths, with the repository's `tsconfig.json` (so
 * `restflow-throttle` is `lib/`, and a relative import from a file placed in
 * `sample/` reaches the sample's files). Returns the errors in those sources.
 */
export function typeCheck(root: string, sources: ReadonlyMap<string, string>): string[] {
  const configPath = join(root, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
  const host = ts.createCompilerHost(parsed.options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => sources.has(file) || fileExists.call(host, file);
  host.readFile = (file) => sources.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, language, onError, createNew) => {
    const text = sources.get(file);
    return text === undefined
      ? getSourceFile.call(host, file, language, onError, createNew)
      : ts.createSourceFile(file, text, language, true);
  };
  const program = ts.createProgram({ rootNames: [...sources.keys()], options: parsed.options, host });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file !== undefined && sources.has(diagnostic.file.fileName))
    .map((diagnostic) => {
      const file = diagnostic.file as ts.SourceFile;
      const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      return `${file.fileName}:${line + 1}:${character + 1} ${message}`;
    });
}
