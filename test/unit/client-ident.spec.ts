import { clientIdent } from '../../lib/throttles/client-ident';
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

  it('IPv4-mapped IPv6 is the IPv4 client', () => {
    expect(clientIdent({ headers: {}, ip: '::ffff:127.0.0.1' }, undefined)).toBe('127.0.0.1');
  });
});
