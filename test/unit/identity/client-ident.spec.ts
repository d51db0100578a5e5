import { EventEmitter } from 'node:events';
import type { HttpAdapterHost } from '@nestjs/core';
import { PeerAddressHook } from '../../../lib/identity/peer-address';
import { addressKeyIdent, hashIdent, safeIdent, userIdent, userKeyIdent } from '../../../lib/identity/cache-key';
import {
  ClientAddressUnknownError,
  ConnectionResetError,
  addressIdent,
  clientIdent,
  remoteAddress,
} from '../../../lib/identity/client-ident';
import type { ThrottleRequest } from 'restflow-throttle';

function req(xff: string | undefined, ip = '9.9.9.9', remote = '10.0.0.1'): ThrottleRequest {
  return { ip, headers: xff === undefined ? {} : { 'x-forwarded-for': xff }, socket: { remoteAddress: remote } };
}

describe('clientIdent', () => {
  it('numProxies unset: the platform ip, never the header', () => {
    expect(clientIdent(req('1.1.1.1, 2.2.2.2'), undefined)).toBe('9.9.9.9');
  });

  it('numProxies unset and no ip: the socket address', () => {
    expect(clientIdent({ headers: {}, socket: { remoteAddress: '10.0.0.7' } }, undefined)).toBe('10.0.0.7');
    expect(clientIdent({ headers: {}, raw: { socket: { remoteAddress: '10.0.0.8' } } }, undefined)).toBe('10.0.0.8');
  });

  it('numProxies 0: the remote address', () => {
    expect(clientIdent(req('1.1.1.1'), 0)).toBe('10.0.0.1');
  });

  it('no X-Forwarded-For: the remote address', () => {
    expect(clientIdent(req(undefined), 1)).toBe('10.0.0.1');
  });

  it.each([
    [1, '0.0.0.0, 1.1.1.1, 2.2.2.2', '2.2.2.2'],
    [2, '0.0.0.0, 1.1.1.1, 2.2.2.2', '1.1.1.1'],
    [3, '0.0.0.0, 1.1.1.1, 2.2.2.2', '0.0.0.0'],
    [5, '0.0.0.0, 1.1.1.1', '0.0.0.0'],
  ])('numProxies %i of %j -> %s', (n, xff, expected) => {
    expect(clientIdent(req(xff), n)).toBe(expected);
  });

  it('an empty entry falls back to the remote address', () => {
    expect(clientIdent(req('1.1.1.1, '), 1)).toBe('10.0.0.1');
  });

  it('IPv4-mapped IPv6 is the IPv4 client, in any case and any form', () => {
    expect(clientIdent({ headers: {}, ip: '::ffff:127.0.0.1' }, undefined)).toBe('127.0.0.1');
    expect(clientIdent({ headers: {}, ip: '::FFFF:127.0.0.1' }, undefined)).toBe('127.0.0.1');
    expect(clientIdent({ headers: {}, socket: { remoteAddress: '::FfFf:10.1.2.3' } }, 0)).toBe('10.1.2.3');
    expect(clientIdent(req('::ffff:7f00:1'), 1)).toBe('127.0.0.1');
    expect(clientIdent(req('0:0:0:0:0:FFFF:0A01:0203'), 1)).toBe('10.1.2.3');
  });

  it('a port written into an X-Forwarded-For entry is dropped', () => {
    expect(clientIdent(req('1.2.3.4:5678'), 1)).toBe('1.2.3.4');
    expect(clientIdent(req('7.7.7.7, 1.2.3.4:443'), 1)).toBe('1.2.3.4');
    expect(clientIdent(req('[2001:db8::1]:443'), 1)).toBe('2001:db8::/64');
    expect(clientIdent(req('[2001:db8::1]'), 1, false)).toBe('2001:db8::1');
    expect(clientIdent(req('[::ffff:1.2.3.4]:80'), 1)).toBe('1.2.3.4');
    // Not an address with a port: kept as written.
    expect(clientIdent(req('1.2.3.4:port'), 1)).toBe('1.2.3.4:port');
    expect(clientIdent(req('[2001:db8::1]:443x'), 1)).toBe('[2001:db8::1]:443x');
  });

  it('digits and dots are kept as written, forged or long ones too; anything else takes the full path', () => {
    for (const text of [
      '1.2.3.4',
      '255.255.255.255',
      '999.1',
      '.',
      '123456789012345',
      '1234567890123456',
      '1.2.3.4.5.6.7.8.9',
    ]) {
      expect(addressIdent(text)).toBe(text);
    }
    expect(addressIdent('1.2.3.4:80')).toBe('1.2.3.4');
    expect(addressIdent('1.2.3.4 ')).toMatch(/^h:/);
    expect(addressIdent('1'.repeat(65))).toMatch(/^h:/);
  });

  it('IPv6 clients are grouped by /64 by default: rotating within it is one client', () => {
    const a = clientIdent({ headers: {}, ip: '2001:db8:1:2:aaaa:bbbb:cccc:dddd' }, undefined);
    const b = clientIdent({ headers: {}, ip: '2001:0DB8:0001:0002::1' }, undefined);
    expect(a).toBe('2001:db8:1:2::/64');
    expect(b).toBe(a);
    expect(clientIdent({ headers: {}, ip: '2001:db8:1:3::1' }, undefined)).toBe('2001:db8:1:3::/64');
    expect(clientIdent({ headers: {}, ip: '::1' }, undefined)).toBe('::/64');
  });

  it.each<[number | false, string]>([
    [56, '2001:db8:1:200::/56'],
    [48, '2001:db8:1::/48'],
    [1, '::/1'],
    [127, '2001:db8:1:2ff::fffe/127'],
    [128, '2001:db8:1:2ff::ffff'],
    [false, '2001:db8:1:2ff::ffff'],
  ])('ipv6Subnet %s', (subnet, expected) => {
    expect(clientIdent({ headers: {}, ip: '2001:db8:1:2ff:0:0:0:ffff' }, undefined, subnet)).toBe(expected);
  });

  it('canonical form: lower case, no leading zeros, the first longest zero run as ::', () => {
    expect(addressIdent('2001:DB8:0:0:1:0:0:1', false)).toBe('2001:db8::1:0:0:1');
    expect(addressIdent('2001:db8:0:1:1:1:1:1', false)).toBe('2001:db8:0:1:1:1:1:1');
    expect(addressIdent('0:0:0:0:0:0:0:0', false)).toBe('::');
    expect(addressIdent('fe80::1%eth0', false)).toBe('fe80::1');
    expect(addressIdent('2001:db8::1.2.3.4', false)).toBe('2001:db8::102:304');
  });

  it('no address at all is an error, never a shared bucket', () => {
    expect(() => clientIdent({ headers: {} }, undefined)).toThrow(ClientAddressUnknownError);
    expect(() => clientIdent({ headers: {}, ip: '', socket: {} }, undefined)).toThrow(
      /client address of this request is unknown/,
    );
    expect(() => clientIdent({ headers: { 'x-forwarded-for': ' , ' } }, 1)).toThrow(ClientAddressUnknownError);
    expect(() => remoteAddress({ headers: {}, raw: { socket: { remoteAddress: undefined } } })).toThrow(
      ClientAddressUnknownError,
    );
  });

  it('a TCP socket that lost its peer (reset before it was accepted) is refused as reset, not as an unknown transport', () => {
    const reset = { headers: {}, socket: { remoteAddress: undefined, localAddress: '127.0.0.1' } };
    expect(() => remoteAddress(reset)).toThrow(ConnectionResetError);
    expect(() => clientIdent(reset, undefined)).toThrow(ConnectionResetError);
    expect(() => remoteAddress({ headers: {}, raw: { socket: { destroyed: true } } })).toThrow(ConnectionResetError);
    // A Unix socket knows neither end: a transport with no client address, and a configuration to fix.
    expect(() => remoteAddress({ headers: {}, socket: { remoteAddress: undefined, localAddress: undefined } })).toThrow(
      ClientAddressUnknownError,
    );
  });
});

describe('IPv6 addresses that carry an IPv4 client are keyed by it', () => {
  // Each form in its spellings: mixed notation, all hex, upper case, with a port or a zone, and via X-Forwarded-For.
  it.each<[string, string, string[]]>([
    [
      'IPv4-mapped',
      '203.0.113.9',
      ['::ffff:203.0.113.9', '::FFFF:cb00:7109', '0:0:0:0:0:ffff:cb00:7109', '[::ffff:cb00:7109]:443'],
    ],
    ['IPv4-compatible', '1.2.3.4', ['::1.2.3.4', '::102:304', '0:0:0:0:0:0:0102:0304', '[::102:304]:8080']],
    [
      'NAT64, well-known prefix',
      '192.0.2.33',
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', '64:FF9B::C000:221', '[64:ff9b::c000:221]:443'],
    ],
    [
      'NAT64, local-use prefix',
      '192.0.2.33',
      ['64:ff9b:1::192.0.2.33', '64:ff9b:1::c000:221', '64:FF9B:1:AB:CD:EF:C000:0221'],
    ],
    [
      '6to4',
      '192.0.2.33',
      ['2002:c000:221::1', '2002:C000:0221:FFFF:1:2:3:4', '2002:c000:221:1::192.0.2.1', '[2002:c000:221::1]:80'],
    ],
    // RFC 4380's example: server 65.54.227.120, client 192.0.2.45 behind its NAT (port 40000).
    [
      'Teredo',
      '192.0.2.45',
      [
        '2001:0:4136:e378:8000:63bf:3fff:fdd2',
        '2001:0000:4136:E378:8000:63BF:3FFF:FDD2',
        '[2001::4136:e378:8000:63bf:3fff:fdd2]:443',
      ],
    ],
  ])('%s -> %s', (_, ipv4, forms) => {
    for (const form of forms) {
      for (const subnet of [64, 48, 128, false] as const) expect(addressIdent(form, subnet)).toBe(ipv4);
      expect(clientIdent(req(`198.51.100.7, ${form}`), 1)).toBe(ipv4);
      expect(clientIdent({ headers: {}, socket: { remoteAddress: form } }, 0)).toBe(ipv4);
    }
    expect(clientIdent(req(ipv4), 1)).toBe(ipv4);
  });

  it('different embedded IPv4 clients are different clients in each form', () => {
    const pairs = [
      ['::1.2.3.4', '::1.2.3.5'],
      ['64:ff9b::1.2.3.4', '64:ff9b::1.2.3.5'],
      ['64:ff9b:1::1.2.3.4', '64:ff9b:1::1.2.3.5'],
      ['2002:102:304::1', '2002:102:305::1'],
      ['2001:0:4136:e378:8000:63bf:fefd:fcfb', '2001:0:4136:e378:8000:63bf:fefd:fcfa'],
    ];
    for (const [a, b] of pairs) expect([a, addressIdent(a)]).not.toEqual([a, addressIdent(b)]);
  });

  it('a 6to4 host is one client across its 2^80 addresses, and a Teredo client whatever its server', () => {
    const rotated = ['2002:102:304::1', '2002:102:304:ffff::1', '2002:102:304:1:2:3:4:5'];
    expect(new Set(rotated.map((a) => addressIdent(a)))).toEqual(new Set(['1.2.3.4']));
    expect(addressIdent('2001:0:a:b:8000:1:fefd:fcfb')).toBe(addressIdent('2001:0:c:d:0:2:fefd:fcfb'));
  });

  it('local-use NAT64 with the IPv4 address at a shorter prefix (last 24 bits zero) is keyed whole', () => {
    // RFC 6052's /64 layout of 192.0.2.33 under 64:ff9b:1:2::/64: no IPv4 client ends in 24 zero bits.
    expect(addressIdent('64:ff9b:1:2:c0:2:2100:0')).toBe('64:ff9b:1:2:c0:2:2100:0');
    expect(addressIdent('64:ff9b:1:2:c0:2:2200:0')).toBe('64:ff9b:1:2:c0:2:2200:0');
  });

  it('::, ::1 and the rest of ::/64 outside 0.0.0.0/8 stay IPv6, grouped as before', () => {
    expect(addressIdent('::1')).toBe('::/64');
    expect(addressIdent('::')).toBe('::/64');
    expect(addressIdent('::ff')).toBe('::/64');
    expect(addressIdent('::1', false)).toBe('::1');
  });

  it('link-local addresses are keyed whole, whatever ipv6Subnet, their zone dropped', () => {
    for (const subnet of [64, 48, false] as const) {
      expect(addressIdent('fe80::1%eth0', subnet)).toBe('fe80::1');
      expect(addressIdent('FE80::1:2:3:4%25en0', subnet)).toBe('fe80::1:2:3:4');
      expect(addressIdent('febf:0:0:0:1::9', subnet)).toBe('febf::1:0:0:9');
    }
    expect(addressIdent('fe80::1')).not.toBe(addressIdent('fe80::2'));
    expect(clientIdent(req('[fe80::abcd]:443'), 1)).toBe('fe80::abcd');
    // Just outside fe80::/10: grouped as any address.
    expect(addressIdent('fec0::1')).toBe('fec0::/64');
  });

  it('near misses stay IPv6 and are grouped by prefix', () => {
    expect(addressIdent('64:ff9b:2::1.2.3.4')).toBe('64:ff9b:2::/64');
    expect(addressIdent('64:ff9b:0:0:1::1.2.3.4')).toBe('64:ff9b::/64');
    expect(addressIdent('2001:1::1')).toBe('2001:1::/64');
    expect(addressIdent('2003::1')).toBe('2003::/64');
  });
});

describe('PeerAddressHook', () => {
  it("reads each new connection's address first, and unhooks at shutdown", () => {
    const order: string[] = [];
    const server = new EventEmitter();
    server.on('connection', () => order.push('http'));
    const hook = new PeerAddressHook({ httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost);
    hook.onModuleInit();
    const socket = {
      get remoteAddress() {
        order.push('address read');
        return '10.0.0.1';
      },
    };
    server.emit('connection', socket);
    server.emit('secureConnection', socket);
    expect(order).toEqual(['address read', 'http', 'address read']);
    hook.onApplicationShutdown();
    expect(server.listenerCount('connection')).toBe(1);
    expect(server.listenerCount('secureConnection')).toBe(0);
  });

  it('does nothing in an application without an HTTP server (microservices)', () => {
    const hook = new PeerAddressHook({ httpAdapter: undefined } as unknown as HttpAdapterHost);
    expect(() => hook.onModuleInit()).not.toThrow();
    expect(() => hook.onApplicationShutdown()).not.toThrow();
  });
});

describe('userIdent (what getUserId() keys on)', () => {
  it('strings, numbers and bigints as written; long or unprintable strings hashed', () => {
    expect(userIdent('alice')).toBe('alice');
    expect(userIdent(42)).toBe('42');
    expect(userIdent(12345678901234567890n)).toBe('12345678901234567890');
    expect(userIdent('x'.repeat(65))).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
    expect(userIdent('user name')).toMatch(/^h:/);
  });

  it("a string id written as a hashed or a binary ident is hashed, so it cannot take another id's ident", () => {
    const long = 'x'.repeat(65);
    const hashed = userIdent(long);
    expect(userIdent(hashed)).toMatch(/^h:[A-Za-z0-9_-]{43}$/);
    expect(userIdent(hashed)).not.toBe(hashed);
    expect(userIdent('b:0102ff')).not.toBe(userIdent(Buffer.from([1, 2, 255])));
    expect(userIdent('b:0102ff')).toBe(hashIdent('b:0102ff'));
    // Only the exact forms: `h` or `b` then a colon.
    expect(userIdent('hb:1')).toBe('hb:1');
    expect(userIdent('H:1')).toBe('H:1');
    expect(userIdent('h')).toBe('h');
  });

  it('Buffers and Uint8Arrays by their bytes: different ids, different buckets', () => {
    expect(userIdent(Buffer.from([1, 2, 255]))).toBe('b:0102ff');
    expect(userIdent(new Uint8Array([1, 2, 255]))).toBe('b:0102ff');
    expect(userIdent(Buffer.from('aa', 'hex'))).not.toBe(userIdent(Buffer.from('ab', 'hex')));
    const offset = new Uint8Array(new Uint8Array([9, 9, 1, 2]).buffer, 2, 2);
    expect(userIdent(offset)).toBe('b:0102');
    const long = userIdent(Buffer.alloc(32, 7));
    expect(long).toMatch(/^b:[A-Za-z0-9_-]{43}$/);
    expect(long).not.toBe(userIdent(Buffer.alloc(32, 8)));
  });

  it.each<[string, unknown]>([
    ['an object', { id: 1 }],
    ['an empty string', ''],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['a Date', new Date(0)],
    ['boolean', true],
    ['symbol', Symbol('id')],
  ])('%s is a TypeError saying what getUserId() must return', (_, id) => {
    expect(() => userIdent(id, 'UserRateThrottle')).toThrow(TypeError);
    expect(() => userIdent(id, 'UserRateThrottle')).toThrow(
      /UserRateThrottle.*non-empty string, a finite number, a bigint or a Buffer.*getUserId\(\)/,
    );
  });

  it('never prints the rejected value (it may be a secret)', () => {
    expect(() => userIdent({ token: 's3cret' })).toThrow(/got an object\./);
    expect(() => userIdent({ token: 's3cret' })).not.toThrow(/s3cret/);
  });
});

describe('key spaces: addresses, user ids and hashed idents never meet', () => {
  it('an address and a user id written alike are different idents', () => {
    expect(addressKeyIdent(clientIdent(req(undefined, '127.0.0.1'), undefined))).toBe('ip:127.0.0.1');
    expect(userKeyIdent(userIdent('127.0.0.1'))).toBe('user:127.0.0.1');
    expect(userKeyIdent(userIdent('ip:127.0.0.1'))).not.toBe(addressKeyIdent('127.0.0.1'));
  });

  it('a forged address written as a hashed ident is hashed, as a long one is', () => {
    const long = 'y'.repeat(65);
    expect(addressIdent(long)).toBe(hashIdent(long));
    expect(addressIdent(hashIdent(long))).not.toBe(hashIdent(long));
    expect(addressIdent('b:00')).toBe(hashIdent('b:00'));
  });

  it('an ident too long for a key is hashed whole, prefix included: no prefixed ident starts with h:', () => {
    const id = 'z'.repeat(62);
    expect(safeIdent(userKeyIdent(userIdent(id)))).toBe(hashIdent(`user:${id}`));
    expect(safeIdent(addressKeyIdent(addressIdent(id)))).toBe(hashIdent(`ip:${id}`));
    expect(safeIdent(userKeyIdent(userIdent(id)))).not.toBe(safeIdent(addressKeyIdent(addressIdent(id))));
  });
});

describe('the table of docs/proxies.md', () => {
  it.each<[string, number | false, string]>([
    ['203.0.113.9', 64, '203.0.113.9'],
    ['::ffff:203.0.113.9', 64, '203.0.113.9'],
    ['::FFFF:203.0.113.9', 64, '203.0.113.9'],
    ['::ffff:cb00:7109', 64, '203.0.113.9'],
    ['64:ff9b::203.0.113.9', 64, '203.0.113.9'],
    ['64:ff9b::cb00:7109', 64, '203.0.113.9'],
    ['64:ff9b:1::cb00:7109', 64, '203.0.113.9'],
    ['::203.0.113.9', 64, '203.0.113.9'],
    ['::cb00:7109', 64, '203.0.113.9'],
    ['2002:cb00:7109::1', 64, '203.0.113.9'],
    ['2002:cb00:7109:5::9', 64, '203.0.113.9'],
    ['2001:0:4136:e378:8000:63bf:34ff:8ef6', 64, '203.0.113.9'],
    ['fe80::1:2:3:4', 64, 'fe80::1:2:3:4'],
    ['fe80::1:2:3:4%eth0', 64, 'fe80::1:2:3:4'],
    ['203.0.113.9:51234', 64, '203.0.113.9'],
    ['[2001:db8::1]:443', 64, '2001:db8::/64'],
    ['[2001:db8::1]', 64, '2001:db8::/64'],
    ['2001:DB8:0:0:1:2:3:4', 64, '2001:db8::/64'],
    ['2001:db8::5:6:7:8', 64, '2001:db8::/64'],
    ['2001:db8:0:0:1:2:3:4', 48, '2001:db8::/48'],
    ['2001:db8:0:0:1:2:3:4', false, '2001:db8::1:2:3:4'],
    ['2001:db8:0:0:1:2:3:4', 128, '2001:db8::1:2:3:4'],
    ['not-an-address', 64, 'not-an-address'],
  ])('%s (ipv6Subnet %s) -> %s', (address, subnet, ident) => {
    expect(addressIdent(address, subnet)).toBe(ident);
  });
});
