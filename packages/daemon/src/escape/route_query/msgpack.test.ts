import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encodeMap } from './msgpack.js';

describe('msgpack slice', () => {
  it('round-trips a request map', () => {
    const id = Buffer.alloc(16, 7);
    const m = decode(encodeMap([['id', id], ['user', 'u'], ['host', 'x'.repeat(40)]])) as Map<string, unknown>;
    assert.deepEqual(m.get('id'), id);
    assert.equal(m.get('user'), 'u');
    assert.equal(m.get('host'), 'x'.repeat(40));
  });
  it('decodes arrays, ints and rejects truncation', () => {
    // {"nodes": ["a","b"], "ttl": 300}
    const b = Buffer.from([0x82, 0xa5, ...Buffer.from('nodes'), 0x92, 0xa1, 0x61, 0xa1, 0x62, 0xa3, ...Buffer.from('ttl'), 0xcd, 0x01, 0x2c]);
    const m = decode(b) as Map<string, unknown>;
    assert.deepEqual(m.get('nodes'), ['a', 'b']);
    assert.equal(m.get('ttl'), 300);
    assert.throws(() => decode(b.subarray(0, b.length - 1)));
  });
});
