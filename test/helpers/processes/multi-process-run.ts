import { AppProcess } from './app-process';

export interface MultiProcessOptions {
  /** Share counts through this Redis; unset: each process keeps its own in memory. */
  redisUrl?: string;
  processes?: number;
  requests?: number;
  rate?: string;
  /** Per process, seconds its clock is off by (cycled): the Redis path must not care. */
  clockSkews?: readonly number[];
}

export interface MultiProcessResult {
  /** Responses by status: `{ 200: 100, 429: 300 }`. */
  statuses: Record<number, number>;
  /** 200s answered by each process, in start order. */
  admittedPerProcess: number[];
}

/**
 * The multi-process proof: starts `processes` Node processes serving the
 * same Nest app, each on its own port, then fires `requests` requests at
 * once, spread round-robin over them, all as one client (one throttle key).
 */
export async function runMultiProcess(options: MultiProcessOptions = {}): Promise<MultiProcessResult> {
  const { redisUrl, processes = 4, requests = 400, rate = '100/min', clockSkews = [0] } = options;
  const apps = await Promise.allSettled(
    Array.from({ length: processes }, (_, i) =>
      AppProcess.start({ redisUrl, rate, numProxies: 1, clockSkewSec: clockSkews[i % clockSkews.length] }),
    ),
  );
  const started = apps.flatMap((app) => (app.status === 'fulfilled' ? [app.value] : []));
  try {
    const failed = apps.find((app): app is PromiseRejectedResult => app.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    // A fresh client per run, so a Redis that outlives the run starts every run empty.
    const client = `multi-process-${process.pid}-${Date.now()}`;
    const responses = await Promise.all(
      Array.from({ length: requests }, async (_, i) => ({
        app: i % processes,
        status: (await started[i % processes].hit(client)).status,
      })),
    );
    const statuses: Record<number, number> = {};
    const admittedPerProcess = started.map(() => 0);
    for (const { app, status } of responses) {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) admittedPerProcess[app]++;
    }
    return { statuses, admittedPerProcess };
  } finally {
    await Promise.all(started.map((app) => app.stop()));
  }
}
