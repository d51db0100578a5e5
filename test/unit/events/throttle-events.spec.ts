/** The key hash of decision events: one default secret per process, or the one the app gives. */
import { ThrottleEvents } from 'restflow-throttle';

describe('ThrottleEvents.keyHash', () => {
  it('without eventKeySecret, every instance of the process hashes a key alike (two apps, two module copies)', () => {
    const a = new ThrottleEvents(undefined, undefined);
    const b = new ThrottleEvents(undefined, undefined);
    expect(a.keyHash('throttle_anon_ip:203.0.113.7')).toBe(b.keyHash('throttle_anon_ip:203.0.113.7'));
    expect(a.keyHash('throttle_anon_ip:203.0.113.7')).not.toBe(a.keyHash('throttle_anon_ip:203.0.113.8'));
  });

  it('with eventKeySecret, the hash depends only on the secret (stable across processes and restarts)', () => {
    const one = new ThrottleEvents(undefined, 'shared-secret');
    const two = new ThrottleEvents(undefined, 'shared-secret');
    const other = new ThrottleEvents(undefined, 'another-secret');
    expect(one.keyHash('k')).toBe(two.keyHash('k'));
    expect(one.keyHash('k')).not.toBe(other.keyHash('k'));
    expect(one.keyHash('k')).not.toBe(new ThrottleEvents(undefined, undefined).keyHash('k'));
  });
});
