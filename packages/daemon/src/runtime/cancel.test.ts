import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Cancel, type CancelSignal } from './cancel.js';

describe('Cancel', () => {
  it('calls each listener once on abort, not removed ones, not ones added after', () => {
    const c = new Cancel();
    const calls: string[] = [];
    const a = () => calls.push('a');
    const b = () => calls.push('b');
    c.signal.addEventListener('abort', a, { once: true });
    c.signal.addEventListener('abort', b);
    c.signal.removeEventListener('abort', b);
    assert.equal(c.signal.aborted, false);
    c.abort();
    c.abort();
    assert.equal(c.signal.aborted, true);
    c.signal.addEventListener('abort', () => calls.push('late'));
    assert.deepEqual(calls, ['a']);
  });

  it('an AbortSignal fits where a CancelSignal is asked for', () => {
    const ac = new AbortController();
    const s: CancelSignal = ac.signal;
    let n = 0;
    s.addEventListener('abort', () => n++, { once: true });
    ac.abort();
    assert.equal(n, 1);
    assert.equal(s.aborted, true);
  });
});
