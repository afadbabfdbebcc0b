import assert from 'node:assert/strict';
import { test } from 'node:test';
import { children, integer, intValue, readElement, tlv } from './ber.js';

test('BER round trip of a bind response shape, short and long lengths', () => {
  const msg = tlv(0x30, Buffer.concat([integer(0x02, 7), tlv(0x61, Buffer.concat([integer(0x0a, 49), tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.alloc(300, 0x41))]))]));
  const e = readElement(msg, 0)!;
  assert.equal(e.end, msg.length);
  const [id, op] = children(msg, e);
  assert.equal(intValue(msg, id!), 7);
  assert.equal(op!.tag, 0x61);
  const [code, , diag] = children(msg, op!);
  assert.equal(intValue(msg, code!), 49);
  assert.equal(diag!.end - diag!.start, 300);
  assert.equal(readElement(msg.subarray(0, msg.length - 1), 0), null, 'incomplete input waits for more');
  assert.deepEqual(integer(0x02, 128), Buffer.from([0x02, 0x02, 0x00, 0x80]), 'positive integers keep a clear sign bit');
});
