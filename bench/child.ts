/**
 * Entry point of every process the orchestrator starts (each pinned to a
 * core): `node child.js <role> '<json options>'`. Results go back over IPC.
 *
 * - server:    the bench app listening on a free port until told to stop
 * - load:      autocannon, a warm-up run then the measured run
 * - decisions: the decision micro-benchmark
 * - memory:    the million-client memory benchmark (run with --expose-gc)
 */
import { createBenchApp, type BenchAppOptions } from './app';
import { measureDecisions, type DecisionOptions } from './decisions';
import { runLoad, type LoadOptions } from './load';
import { measureMemory, type MemoryOptions } from './memory';

export type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'stopped'; rss: number }
  /** Load generator: the warm-up is over, the measured run starts now. */
  | { type: 'measuring' }
  /** Server: CPU time used so far, µs (asked for with `{ type: 'cpu' }`). */
  | { type: 'cpu'; micros: number }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function serve(options: BenchAppOptions): Promise<void> {
  const bench = await createBenchApp(options);
  await bench.app.listen(0, '127.0.0.1');
  const { port } = bench.app.getHttpServer().address() as { port: number };
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      void send({ type: 'cpu', micros: user + system });
      return;
    }
    if (message?.type !== 'stop') return;
    const rss = process.memoryUsage().rss;
    void bench
      .close()
      .then(() => send({ type: 'stopped', rss }))
      // A normal exit, so that --cpu-prof writes its profile.
      .then(() => process.exit(0));
  });
  await send({ type: 'ready', port });
}

async function main(): Promise<void> {
  const [role, json = '{}'] = process.argv.slice(2);
  const options = JSON.parse(json) as Record<string, unknown>;
  switch (role) {
    case 'server':
      return serve(options as unknown as BenchAppOptions);
    case 'load': {
      const load = options as unknown as LoadOptions & { warmup: number };
      if (load.warmup > 0) await runLoad({ ...load, duration: load.warmup });
      await send({ type: 'measuring' });
      await send({ type: 'result', result: await runLoad(load) });
      return process.exit(0);
    }
    case 'decisions':
      await send({ type: 'result', result: await measureDecisions(options as unknown as DecisionOptions) });
      return process.exit(0);
    case 'memory':
      await send({ type: 'result', result: await measureMemory(options as unknown as MemoryOptions) });
      return process.exit(0);
    default:
      throw new Error(`unknown role '${role}'`);
  }
}

main().catch(async (error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(message);
  if (process.send) await send({ type: 'error', message });
  process.exit(1);
});
