/**
 * CallDeadline (lib/stores/deadline.ts): a deadline measures the cache, not this process. A call the cache has
 * answered nothing of is timed by the wall clock, checked after the poll phase (a frozen cache is answered on
 * time however busy the loop); one it answered in part (a resend) is timed in the event loop's idle time since
 * the call began, so a busy stretch before the resend's reply never counts, and a loop never idle still ends it.
 */
import { BUSY_STRETCH_MAX, CallDeadline } from '../../../lib/stores/deadline';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('no reply yet: timed by the wall clock, a busy stretch past it included (a frozen cache, a busy loop)', async () => {
  let expiredAt: number | undefined;
  const startedAt = performance.now();
  const deadline = new CallDeadline(50, () => (expiredAt = performance.now() - startedAt));
  busy(150);
  await sleep(20);
  // Expired at the first check after the busy stretch: 50 ms of idle time would take until 200 ms.
  expect(expiredAt).toBeGreaterThanOrEqual(150);
  expect(deadline.answered()).toBe(false);
});

it('answered in part, then a busy stretch past the deadline: the resend answered soon after is in time', async () => {
  let expired = false;
  const deadline = new CallDeadline(50, () => (expired = true));
  deadline.progressed(); // the first reply asked for a resend, which is out
  busy(150); // the timer is due when the loop comes back: the wall clock would expire it there
  await sleep(20); // the resend's reply comes 20 ms of idle loop after
  expect(expired).toBe(false);
  expect(deadline.answered()).toBe(true);
  expect(deadline.expired).toBe(false);
});

it('answered in part: the deadline expires after its length of idle time, before and after a busy stretch', async () => {
  let expiredAt: number | undefined;
  const startedAt = performance.now();
  const deadline = new CallDeadline(50, () => (expiredAt = performance.now() - startedAt));
  await sleep(30); // 30 ms idle
  deadline.progressed();
  busy(100); // due now, but the loop was busy
  await sleep(5);
  expect(expiredAt).toBeUndefined();
  await sleep(100);
  // 50 ms of idle time in all: 30 before the busy stretch, about 20 after it.
  expect(expiredAt).toBeGreaterThanOrEqual(150);
  expect(deadline.answered()).toBe(false);
});

it('an idle loop: expires after its length, once, answered in part or not', async () => {
  for (const progressed of [false, true]) {
    let expiries = 0;
    let expiredAt = 0;
    const startedAt = performance.now();
    const deadline = new CallDeadline(50, () => {
      expiries++;
      expiredAt = performance.now() - startedAt;
    });
    if (progressed) deadline.progressed();
    await sleep(250);
    expect({ progressed, expiries }).toEqual({ progressed, expiries: 1 });
    expect(expiredAt).toBeGreaterThanOrEqual(49);
    expect(expiredAt).toBeLessThan(200);
    expect(deadline.answered()).toBe(false);
  }
});

it(`answered in part, a loop never idle: the wall clock ends it at ${BUSY_STRETCH_MAX} times its length`, async () => {
  let expiredAt: number | undefined;
  const startedAt = performance.now();
  // An idle clock that never moves: as a loop busy all the time sees it.
  const deadline = new CallDeadline(
    20,
    () => (expiredAt = performance.now() - startedAt),
    () => 0,
  );
  deadline.progressed();
  await sleep(20 * BUSY_STRETCH_MAX + 150);
  expect(expiredAt).toBeGreaterThanOrEqual(20 * BUSY_STRETCH_MAX);
});

it('answered first: never expires', async () => {
  let expired = false;
  const deadline = new CallDeadline(20, () => (expired = true));
  expect(deadline.answered()).toBe(true);
  await sleep(60);
  expect([expired, deadline.expired]).toEqual([false, false]);
});

it('progressed() answers the time it cannot expire in: the idle time left, within the wall-clock cap', async () => {
  let idle = 0;
  const deadline = new CallDeadline(
    100,
    () => undefined,
    () => idle,
  );
  idle = 30; // 30 ms of idle time went by: at least 70 ms more, even if all of it is idle
  const left = deadline.progressed();
  expect(left).toBeGreaterThan(69);
  expect(left).toBeLessThanOrEqual(70);
  // A loop never idle: the cap (10 times the length, by the wall clock) is what bounds it, whatever the
  // scheduler adds between the lines below (bounds read around each call, not a margin).
  const neverIdle = (ms: number) =>
    new CallDeadline(
      ms,
      () => undefined,
      () => 0,
    );
  const t0 = performance.now();
  const busyLoop = neverIdle(10);
  const t1 = performance.now();
  busy(10 * BUSY_STRETCH_MAX - 5);
  const before = performance.now();
  const capped = busyLoop.progressed();
  const after = performance.now();
  expect(capped).toBeLessThan(10); // below the idle time left (10): the cap bound it
  expect(capped).toBeLessThanOrEqual(Math.max(0, 10 * BUSY_STRETCH_MAX - (before - t1)));
  expect(capped).toBeGreaterThanOrEqual(Math.max(0, 10 * BUSY_STRETCH_MAX - (after - t0)));
  const spent = neverIdle(10);
  busy(10 * BUSY_STRETCH_MAX + 5);
  expect(spent.progressed()).toBe(0);
  for (const d of [deadline, busyLoop, spent]) d.answered();
});
