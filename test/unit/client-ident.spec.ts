import { EventEmitter } from 'node:events';
import type { HttpAdapterHost } from '@nestjs/core';
import { PeerAddressHook } from '../../lib/identity/peer-address';
import { userIdent } from '../../lib/identity/cache-key';
import { ClientAddressUnknownError, ConnectionResetError, addressIdent, clientIdent, remoteAddress } from '../../lib/identity/client-ident';
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
    for (const text of ['1.2.3.4', '255.255.255.255', '999.1', '.', '123456789012345', '1234567890123456', '1.2.3.4.5.6.7.8.9']) {
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
    expect(addressIdent('64:ff9b::1.2.3.4', false)).toBe('64:ff9b::102:304');
  });

  it('no address at all is an error, never a shared bucket', () => {
    expect(() => clientIdent({ headers: {} }, undefined)).toThrow(ClientAddressUnknownError);
    expect(() => clientIdent({ headers: {}, ip: '', socket: {} }, undefined)).toThrow(/client address of this request is unknown/);
    expect(() => clientIdent({ headers: { 'x-forwarded-for': ' , ' } }, 1)).toThrow(ClientAddressUnknownError);
    expect(() => remoteAddress({ headers: {}, raw: { socket: { remoteAddress: undefined } } })).toThrow(ClientAddressUnknownError);
  });

  it('a TCP socket that lost its peer (reset before it was accepted) is refused as reset, not as an unknown transport', () => {
    const reset = { headers: {}, socket: { remoteAddress: undefined, localAddress: '127.0.0.1' } };
    expect(() => remoteAddress(reset)).toThrow(ConnectionResetError);
    expect(() => clientIdent(reset, undefined)).toThrow(ConnectionResetError);
    expect(() => remoteAddress({ headers: {}, raw: { socket: { destroyed: true } } })).toThrow(ConnectionResetError);
    // A Unix socket knows neither end: a transport with no client address, and a configuration to fix.
    expect(() => remoteAddress({ headers: {}, socket: { remoteAddress: undefined, localAddress: undefined } })).toThrow(ClientAddressUnknownError);
  });
});

describe('PeerAddressHook', () => {
  it('reads each new connection\'s address first, and unhooks at shutdown', () => {
    const order: string[] = [];
    const server = new EventEmitter();
    server.on('connection', () => order.push('http'));
    const hook = new PeerAddressHook({ httpAdapter: { getHttpServer: () => server } } as unknown as HttpAdapterHost);
    hook.onModuleInit();
    const socket = { get remoteAddress() { order.push('address read'); return '10.0.0.1'; } };
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
    expect(() => userIdent(id, 'UserRateThrottle')).toThrow(/UserRateThrottle.*non-empty string, a finite number, a bigint or a Buffer.*getUserId\(\)/);
  });

  it('never prints the rejected value (it may be a secret)', () => {
    expect(() => userIdent({ token: 's3cret' })).toThrow(/got an object\./);
    expect(() => userIdent({ token: 's3cret' })).not.toThrow(/s3cret/);
  });
});

describe('the table of docs/proxies.md', () => {
  it.each<[string, number | false, string]>([
    ['203.0.113.9', 64, '203.0.113.9'],
    ['::ffff:203.0.113.9', 64, '203.0.113.9'],
    ['::FFFF:203.0.113.9', 64, '203.0.113.9'],
    ['::ffff:cb00:7109', 64, '203.0.113.9'],
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
