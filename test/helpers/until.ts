import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` every few milliseconds until it holds; fails after `ms`
 * with `what`, so a test waiting on something that never happens says which.
 */
export async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await sleep(5);
  }
}
