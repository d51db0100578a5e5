/**
 * Runs code written for @nestjs/throttler (the migration guide's "before" block) in a Node process of its
 * own: the peer is CommonJS, which this repository's Jest (native ESM) cannot load beside Nest 12, while
 * Node's own `require` can. The block is transpiled to CommonJS and started with a `main` of a few lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { Platform } from '../helpers/http-app';

/** Starts the module's `AppModule` and prints the port it listens on. */
const MAIN = `
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { AppModule } = require('./app.js');
(async () => {
  const adapter = process.env.PLATFORM === 'fastify' ? new (require('@nestjs/platform-fastify').FastifyAdapter)() : undefined;
  const app = adapter ? await NestFactory.create(AppModule, adapter, { logger: false })
                      : await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  console.log('READY ' + app.getHttpServer().address().port);
})().catch((error) => { console.error(error); process.exit(1); });
`;

/** An app of the peer's, running in a child process. */
export interface PeerProcess {
  readonly url: string;
  stop(): void;
}

/** Transpiles `source` (a module exporting `AppModule`) and serves it on `platform`, on a free port. */
export async function startPeerApp(root: string, source: string, platform: Platform): Promise<PeerProcess> {
  const dir = join(root, 'node_modules', '.cache', 'restflow-migration', hash(source));
  mkdirSync(dir, { recursive: true });
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
  };
  writeFileSync(join(dir, 'app.js'), ts.transpileModule(source, { compilerOptions: options }).outputText);
  writeFileSync(join(dir, 'main.js'), MAIN);
  const child = spawn(process.execPath, [join(dir, 'main.js')], {
    cwd: root,
    env: { ...process.env, PLATFORM: platform },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const port = await readyPort(child);
    return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

function hash(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

/** The port the child prints, or its output when it exits or stays silent for 20 s. */
function readyPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the peer's app did not start:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^READY (\d+)$/m.exec(output);
      if (ready === null) return;
      clearTimeout(timer);
      resolve(Number(ready[1]));
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the peer's app exited (${code}):\n${output}`));
    });
  });
}
