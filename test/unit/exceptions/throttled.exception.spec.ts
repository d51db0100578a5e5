import { HttpStatus } from '@nestjs/common';
import { ThrottledException } from 'restflow-throttle';

describe('ThrottledException (DRF Throttled)', () => {
  it('no wait', () => {
    const e = new ThrottledException();
    expect(e.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(e.wait).toBeNull();
    expect(e.getResponse()).toEqual({ detail: 'Request was throttled.' });
    expect(e.getFullDetails()).toEqual({ message: 'Request was throttled.', code: 'throttled' });
  });

  it('plural seconds, rounded up', () => {
    const e = new ThrottledException(41.2);
    expect(e.wait).toBe(42);
    expect(e.getResponse()).toEqual({ detail: 'Request was throttled. Expected available in 42 seconds.' });
  });

  it('singular second', () => {
    expect(new ThrottledException(0.3).getResponse()).toEqual({
      detail: 'Request was throttled. Expected available in 1 second.',
    });
  });

  it('a custom detail replaces the first sentence', () => {
    const e = new ThrottledException(2, 'Slow down!');
    expect(e.getResponse()).toEqual({ detail: 'Slow down! Expected available in 2 seconds.' });
    expect(e.getFullDetails()).toEqual({ message: 'Slow down! Expected available in 2 seconds.', code: 'throttled' });
    expect(new ThrottledException(null, 'Slow down!').getResponse()).toEqual({ detail: 'Slow down!' });
  });

  it('zero wait keeps the sentence (Retry-After is then omitted by the filter)', () => {
    const e = new ThrottledException(0);
    expect(e.wait).toBe(0);
    expect(e.getResponse()).toEqual({ detail: 'Request was throttled. Expected available in 0 seconds.' });
  });

  it("its message is the detail sent (DRF's str(exc)), not a name made from the class by a regex", () => {
    const e = new ThrottledException(41.2);
    expect(e.message).toBe('Request was throttled. Expected available in 42 seconds.');
    expect(e.stack).toBe('ThrottledException: Request was throttled. Expected available in 42 seconds.');
    expect(new ThrottledException(null, 'Slow down!').message).toBe('Slow down!');
  });

  it('captures no stack (a refusal is an answer, and costs less without one), and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    const exception = new ThrottledException(3);
    expect(exception.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('other').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
