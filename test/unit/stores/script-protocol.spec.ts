/** The throttle script's command and reply formats, without Redis (the script itself is tested against redis-server in test/redis). */
import {
  asEval,
  isRefused,
  parseScriptReply,
  scriptCommand,
  serverTimeOf,
  UncountableHitError,
  withExpiry,
} from '../../../lib/stores/redis/script-protocol';
import { THROTTLE_SCRIPT, THROTTLE_SHA } from '../../../lib/stores/redis/throttle-script.lua';

describe('scriptCommand', () => {
  const hits = [
    { key: 'a', limit: 5, duration: 60, now: undefined, algorithm: 's' as const },
    { key: 'b', limit: 10, duration: 3600, now: 1000.125, algorithm: 'g' as const },
    { key: 'c', limit: 1, duration: 1, now: undefined, algorithm: 's' as const },
  ];

  it('lays out the keys, the expiry, then a group per run of hits with the same settings', () => {
    expect(scriptCommand(hits, 0, 3, '77.5')).toEqual([
      'EVALSHA',
      THROTTLE_SHA,
      '3',
      'a',
      'b',
      'c',
      '77.5',
      '1 5 60 - s',
      '1 10 3600 1000.125 g',
      '1 1 1 - s',
    ]);
  });

  it('takes a slice of the batch', () => {
    expect(scriptCommand(hits, 1, 2, '')).toEqual(['EVALSHA', THROTTLE_SHA, '1', 'b', '', '1 10 3600 1000.125 g']);
  });

  it('puts consecutive hits with the same settings in one group, and starts another when any setting changes', () => {
    const hit = { key: 'k', limit: 5, duration: 60, now: undefined, algorithm: 's' as const };
    const batch = [
      hit,
      { ...hit, key: 'l' },
      { ...hit, key: 'm' },
      { ...hit, now: 7 },
      { ...hit, now: 7 },
      { ...hit, now: 8 },
      { ...hit, limit: 6 },
      { ...hit, duration: 61 },
      { ...hit, algorithm: 'g' as const },
      hit,
    ];
    expect(scriptCommand(batch, 0, batch.length, '1').slice(3 + batch.length + 1)).toEqual([
      '3 5 60 - s',
      '2 5 60 7 s',
      '1 5 60 8 s',
      '1 6 60 - s',
      '1 5 61 - s',
      '1 5 60 - g',
      '1 5 60 - s',
    ]);
    expect(scriptCommand(batch, 0, batch.length, '1').slice(3, 3 + batch.length)).toEqual([
      'k',
      'l',
      'm',
      'k',
      'k',
      'k',
      'k',
      'k',
      'k',
      'k',
    ]);
  });

  it('is rewritten as EVAL with the script text, and with another expiry, without touching the original', () => {
    const command = scriptCommand(hits, 0, 2, '1');
    expect(asEval(command)).toEqual(['EVAL', THROTTLE_SCRIPT, ...command.slice(2)]);
    expect(withExpiry(command, '2')[5]).toBe('2');
    expect(command[5]).toBe('1');
  });
});

describe('parseScriptReply', () => {
  it('reads each hit in order, with the exact numbers written', () => {
    const reply =
      '1700000000.000123\n1 1700000000.000123 1 1700000000.000123\n0 1000.25 5 -\n1 12.5 3 0.30000000000000004';
    expect(parseScriptReply(reply, 3)).toEqual([
      { allowed: true, now: 1700000000.000123, count: 1, oldest: 1700000000.000123 },
      { allowed: false, now: 1000.25, count: 5, oldest: null },
      { allowed: true, now: 12.5, count: 3, oldest: 0.30000000000000004 },
    ]);
    expect(serverTimeOf(reply)).toBe(1700000000.000123);
    expect(isRefused(reply)).toBe(false);
  });

  it('reads a Buffer reply', () => {
    expect(parseScriptReply(Buffer.from('5.5\n1 5.5 1 5.5'), 1)).toEqual([
      { allowed: true, now: 5.5, count: 1, oldest: 5.5 },
    ]);
  });

  it("reads a hit the script could not count as that hit's error, the others as decided", () => {
    const results = parseScriptReply('5.5\n1 5.5 1 5.5\ne duration\n0 5.5 2 4', 3);
    expect(results?.[0]).toEqual({ allowed: true, now: 5.5, count: 1, oldest: 5.5 });
    expect(results?.[1]).toBeInstanceOf(UncountableHitError);
    expect(results?.[1]).toMatchObject({ what: 'duration', message: 'its duration is out of range' });
    expect(results?.[2]).toEqual({ allowed: false, now: 5.5, count: 2, oldest: 4 });
  });

  it('answers null for a batch refused as late, whose server time it still reads', () => {
    expect(parseScriptReply('x 1700000000.500000', 2)).toBeNull();
    expect(isRefused('x 1700000000.500000')).toBe(true);
    expect(serverTimeOf('x 1700000000.500000')).toBe(1700000000.5);
  });

  it.each([
    ['fewer hits than sent', '1.0\n1 1 1 1', 2],
    ['more hits than sent', '1.0\n1 1 1 1\n1 1 1 1', 1],
    ['no hit line', '1.0', 1],
    ['an unknown verdict', '1.0\n2 1 1 1', 1],
    ['a fractional count', '1.0\n1 1 1.5 1', 1],
    ['a missing field', '1.0\n1 1 1', 1],
    ['an unreadable time', '1.0\n1 abc 1 1', 1],
    ['an unreadable oldest', '1.0\n1 1 1 -x', 1],
    ['an error line with no reason', '1.0\ne', 1],
    ['an error line with an unknown shape', '1.0\ne out of range', 1],
    ['a number', 42, 1],
    ['nothing', null, 1],
  ])('throws on %s, naming the reply', (_name, reply, count) => {
    expect(() => parseScriptReply(reply, count)).toThrow(/unexpected reply from the throttle script/);
  });
});
