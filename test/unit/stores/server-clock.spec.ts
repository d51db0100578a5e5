/** The Redis server's clock as a lane bounds it (lib/stores/redis/server-clock.ts), on a hand-moved local clock. */
import { ServerClock } from '../../../lib/stores/redis/server-clock';

function clockAt(start: number) {
  const local = { now: start };
  return { local, clock: new ServerClock(() => local.now) };
}

describe('ServerClock', () => {
  it("uses this process's clock before any reply", () => {
    const { clock } = clockAt(100);
    expect(clock.expiry(100, 250)).toBe('100.25');
  });

  it('dates expiries on the server clock by the offset a reply gives', () => {
    const { local, clock } = clockAt(100);
    clock.learn(1_700_000_000); // the server read 1 700 000 000 when the local clock read 100
    local.now = 105;
    expect(Number(clock.expiry(105, 1000))).toBeCloseTo(1_700_000_006, 6);
  });

  it('a reply read late (a busy process) never lowers the offset', () => {
    const { local, clock } = clockAt(100);
    clock.learn(1_700_000_000);
    local.now = 102.5; // this reply's script ran at local 101, read 1.5 s later
    clock.learn(1_700_000_001);
    expect(Number(clock.expiry(103, 1000))).toBeCloseTo(1_700_000_004, 6);
  });

  it('follows a server clock stepped forward at once, and one stepped back within two windows of replies', () => {
    const { local, clock } = clockAt(0);
    clock.learn(1000); // offset 1000
    local.now = 1;
    clock.learn(1061); // stepped a minute ahead: offset 1060
    expect(Number(clock.expiry(1, 0))).toBeCloseTo(1061, 6);
    // Stepped back to offset 1000: the old highest stays until two 10 s windows have had replies without it.
    for (let t = 2; t <= 30; t++) {
      local.now = t;
      clock.learn(t + 1000);
    }
    expect(Number(clock.expiry(30, 0))).toBeCloseTo(1030, 6);
  });

  it('an idle store keeps its offset: a window without replies forgets nothing', () => {
    const { local, clock } = clockAt(0);
    clock.learn(5000);
    local.now = 3600;
    expect(Number(clock.expiry(3600, 0))).toBeCloseTo(8600, 6);
    clock.learn(8599); // a late one after the idle hour: still the earlier, higher bound
    expect(Number(clock.expiry(3600, 0))).toBeCloseTo(8600, 6);
  });
});
