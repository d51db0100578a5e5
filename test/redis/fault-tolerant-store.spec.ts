/**
 * The outage warnings of a remote store whose server answers some calls and
 * not others (a Redis at its latency limit, one dead Cluster master): one
 * warning when the outage starts and one when it is over, not one per flip.
 */
import type { Logger } from '@nestjs/common';
import { FaultTolerantStore } from '../../lib/stores/fault-tolerant.store';
import type { HitResult, ThrottleStore } from '../../lib/stores/throttle-store';

/** A store whose next answers are scripted: `'ok'`, `'fail'`, or `'hang'` (never answers). */
class ScriptedStore implements ThrottleStore {
  readonly ownClock = true;
  constructor(private readonly answers: Array<'ok' | 'fail' | 'hang'>) {}
  hit(): Promise<HitResult> {
    const answer = this.answers.shift() ?? 'ok';
    if (answer === 'fail') return Promise.reject(new Error('connection refused'));
    if (answer === 'hang') return new Promise(() => undefined);
    return Promise.resolve({ allowed: true, now: 1, count: 1, oldest: 1 });
  }
}

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = { warn: (message: string) => warnings.push(message) } as unknown as Logger;
  return { logger, warnings };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RECOVERY_QUIET_MS = 1000;

it('a server failing every other call is one outage, not a warning per call', async () => {
  const { logger, warnings } = capture();
  const answers = Array.from({ length: 20 }, (_, i): 'fail' | 'ok' => (i % 2 === 0 ? 'fail' : 'ok'));
  const store = new FaultTolerantStore(new ScriptedStore(answers), { timeoutMs: 50, policy: 'allow', name: 'default', logger });
  for (let i = 0; i < 20; i++) expect((await store.hit('k', 10, 60, undefined)).allowed).toBe(true);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/'default' is unavailable \(connection refused\)/);

  await sleep(RECOVERY_QUIET_MS + 50); // a quiet second: the next answer ends the outage
  await store.hit('k', 10, 60, undefined);
  expect(warnings).toHaveLength(2);
  expect(warnings[1]).toMatch(/'default' is available again/);
});

it('a call of the ended outage timing out late does not start a new one', async () => {
  const { logger, warnings } = capture();
  const store = new FaultTolerantStore(new ScriptedStore(['fail', 'hang', 'ok']), { timeoutMs: RECOVERY_QUIET_MS + 300, policy: 'deny', name: 'default', logger });
  await expect(store.hit('k', 10, 60, undefined)).rejects.toThrow(/unavailable/i);
  const straggler = store.hit('k', 10, 60, undefined); // started during the outage, times out after it ends
  await sleep(RECOVERY_QUIET_MS + 50);
  expect((await store.hit('k', 10, 60, undefined)).allowed).toBe(true);
  await expect(straggler).rejects.toThrow(/unavailable/i);
  expect(warnings.map((w) => /unavailable|available again/.exec(w)?.[0])).toEqual(['unavailable', 'available again']);
});
