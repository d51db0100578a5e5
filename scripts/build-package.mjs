/**
 * Builds the published package: lib/ compiled to ES modules in dist/ (see tsconfig.build.esm.json).
 *
 * Why a script and not plain `tsc`: the sources import each other without extensions (`./rate`),
 * which Node's ES module loader does not resolve. The emitted JavaScript and declarations get the
 * full specifier (`./rate.js`, `./stores/index.js`), resolved against lib/ here, so a missing file
 * fails the build instead of the user's app. dist/package.json marks the output as ES modules for
 * Node and for TypeScript, without changing how the repository's own sources are read.
 *
 *   node scripts/build-package.mjs [--outDir <dir>]
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDirArg = process.argv.indexOf('--outDir');
const outDir = resolve(outDirArg >= 0 ? process.argv[outDirArg + 1] : resolve(root, 'dist'));

const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail([d]) };
const config = ts.getParsedCommandLineOfConfigFile(resolve(root, 'tsconfig.build.esm.json'), { outDir }, host);
if (!config) throw new Error('tsconfig.build.esm.json could not be read');
if (config.errors.length) fail(config.errors);

rmSync(outDir, { recursive: true, force: true });
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const preEmit = ts.getPreEmitDiagnostics(program);
if (preEmit.length) fail(preEmit);
const withExtensions = { after: [rewriteSpecifiers], afterDeclarations: [rewriteSpecifiers] };
const result = program.emit(undefined, undefined, undefined, false, withExtensions);
if (result.diagnostics.length) fail(result.diagnostics);
mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);

/** `./x` -> `./x.js` or `./x/index.js`, as the file in lib/ says; anything not relative is left alone. */
function fullSpecifier(fromFile, specifier) {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return specifier;
  if (/\.(m|c)?js$/.test(specifier)) return specifier;
  const base = resolve(dirname(fromFile), specifier);
  if (existsSync(`${base}.ts`)) return `${specifier}.js`;
  if (existsSync(resolve(base, 'index.ts'))) return `${specifier}/index.js`;
  throw new Error(`${fromFile}: cannot resolve '${specifier}' to a file in lib/`);
}

/** A transformer for both outputs: import/export declarations, import() types and dynamic import(). */
function rewriteSpecifiers(context) {
  const { factory } = context;
  return (node) => {
    if (!ts.isSourceFile(node)) return node;
    const from = node.fileName;
    const literal = (text) => factory.createStringLiteral(fullSpecifier(from, text));
    const visit = (n) => {
      if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
        return factory.updateImportDeclaration(
          n,
          n.modifiers,
          n.importClause,
          literal(n.moduleSpecifier.text),
          n.attributes,
        );
      }
      if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
        return factory.updateExportDeclaration(
          n,
          n.modifiers,
          n.isTypeOnly,
          n.exportClause,
          literal(n.moduleSpecifier.text),
          n.attributes,
        );
      }
      if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
        const argument = factory.createLiteralTypeNode(literal(n.argument.literal.text));
        return factory.updateImportTypeNode(n, argument, n.attributes, n.qualifier, n.typeArguments, n.isTypeOf);
      }
      if (
        ts.isCallExpression(n) &&
        n.expression.kind === ts.SyntaxKind.ImportKeyword &&
        n.arguments.length &&
        ts.isStringLiteral(n.arguments[0])
      ) {
        return factory.updateCallExpression(n, n.expression, n.typeArguments, [
          literal(n.arguments[0].text),
          ...n.arguments.slice(1),
        ]);
      }
      return ts.visitEachChild(n, visit, context);
    };
    return ts.visitEachChild(node, visit, context);
  };
}

function fail(diagnostics) {
  const formatHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost));
  process.exit(1);
}
