/**
 * `{route}` in a cache format: the route's name made key-safe (distinct names stay distinct), and the glob
 * that resetThrottles() hands a Redis SCAN still matches every key the format makes.
 */
import {
  KeyFormat,
  addressKeyIdent,
  hashIdent,
  keyPattern,
  routeKey,
  safeIdent,
} from '../../../lib/identity/cache-key';

/** Redis's glob, as SCAN MATCH reads it: `*`, `?`, `[...]`, and `\` escaping the next character. */
function globMatches(pattern: string, key: string): boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') source += escapeChar(pattern[++i] ?? '');
    else if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += escapeChar(c);
  }
  return new RegExp(`^${source}$`, 's').test(key);
}
const escapeChar = (c: string) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('routeKey', () => {
  it('keeps a controller and handler name as written', () => {
    expect(routeKey('ArticlesController.list')).toBe('ArticlesController.list');
    expect(routeKey('$Admin_2-Controller.get$')).toBe('$Admin_2-Controller.get$');
  });

  it('percent-encodes anything else as UTF-8, % included, so two names never become one', () => {
    expect(routeKey('Café Ü.list')).toBe('Caf%C3%A9%20%C3%9C.list');
    const names = ['a{b}.c', 'a%7Bb%7D.c', 'a*b.c', 'a?b.c', 'a[b].c', 'a b.c', 'a_b.c', 'данные.x', '数据.x'];
    const keys = names.map(routeKey);
    expect(new Set(keys).size).toBe(names.length);
    for (const key of keys) expect(key).toMatch(/^[\w.$%-]+$/);
  });
});

describe('KeyFormat and keyPattern with {route}', () => {
  const format = 'throttle_{scope}_{route}_{ident}';

  it('fills the route and the scope, then the ident', () => {
    expect(new KeyFormat(format, 'anon', 'ArticlesController.list').key('ip:1.2.3.4')).toBe(
      'throttle_anon_ArticlesController.list_ip:1.2.3.4',
    );
    // Not bound to a route (a throttle used outside the module): the placeholder is left empty.
    expect(new KeyFormat(format, 'anon').key('ip:1.2.3.4')).toBe('throttle_anon__ip:1.2.3.4');
  });

  it("the glob matches the route's keys and no other route's", () => {
    for (const name of ['ArticlesController.list', 'Café Ü*[x]?.get', 'a\\b.c']) {
      const route = routeKey(name);
      const pattern = keyPattern(format, 'anon', route);
      expect(globMatches(pattern, new KeyFormat(format, 'anon', route).key('ip:1.2.3.4'))).toBe(true);
      expect(globMatches(pattern, new KeyFormat(format, 'anon', routeKey(`${name}2`)).key('ip:1.2.3.4'))).toBe(false);
    }
    expect(keyPattern(format, 'anon', 'A.b')).toBe('throttle_anon_A.b_*');
  });

  it('a format without {route} is unchanged', () => {
    expect(keyPattern('throttle_{scope}_{ident}', 'a*b')).toBe('throttle_a\\*b_*');
    expect(new KeyFormat('throttle_{scope}_{ident}', 'anon', 'A.b').key('x')).toBe('throttle_anon_x');
  });
});

describe('KeyFormat.key makes the ident safe itself', () => {
  // Built with `+`, as the built-in throttles build theirs: the joined key is what is tested, not the ident.
  const idents = [
    addressKeyIdent('10.0.39.16'),
    addressKeyIdent('2001:db8:1:2::/64'),
    '',
    'a'.repeat(64),
    'a'.repeat(65),
    addressKeyIdent('x'.repeat(62)),
    'has space',
    'tab\there',
    'caf\u00e9',
    'emoji-\u{1f600}',
    'ctl\u0000',
  ];

  it('as safeIdent: short printable idents as written, others hashed, whether the format is printable or not', () => {
    for (const format of ['throttle_{scope}_{ident}', 'throttle {scope} {ident}', '{ident}', 'ключ_{ident}_{scope}']) {
      const keyFormat = new KeyFormat(format, 'anon');
      for (const ident of idents) {
        const expected = format.replace('{scope}', 'anon').replace('{ident}', safeIdent(ident));
        expect(keyFormat.key(ident)).toBe(expected);
      }
    }
  });

  it('hashes a long or unprintable ident whole, prefix included', () => {
    const format = new KeyFormat('throttle_{scope}_{ident}', 'anon');
    expect(format.key('a'.repeat(65))).toBe(`throttle_anon_${hashIdent('a'.repeat(65))}`);
    expect(format.key(addressKeyIdent('bad address'))).toBe(`throttle_anon_${hashIdent('ip:bad address')}`);
    expect(format.key(addressKeyIdent('10.0.39.16'))).toBe('throttle_anon_ip:10.0.39.16');
  });
});
