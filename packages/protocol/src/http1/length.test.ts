import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LengthDecoder } from './index.js';

test('a body within one chunk, followed by the next message', () => {
  const d = new LengthDecoder(5);
  const got: Buffer[] = [];
  const chunk = Buffer.from('helloGET /');
  assert.equal(
    d.push(chunk, (v) => got.push(v)),
    5,
  );
  assert.equal(got.length, 1);
  assert.equal(got[0]!.toString(), 'hello');
  assert.equal(got[0]!.buffer, chunk.buffer);
  assert.equal(d.done, true);
});

test('a body across pushes, ending exactly at a chunk end', () => {
  const d = new LengthDecoder(6);
  const got: string[] = [];
  const first = Buffer.from('abc');
  let seen: Buffer | undefined;
  assert.equal(
    d.push(first, (v) => ((seen = v), got.push(v.toString()))),
    -1,
  );
  assert.equal(seen, first); // whole chunk handed on as is
  assert.equal(d.remaining, 3);
  assert.equal(
    d.push(Buffer.from('def'), (v) => got.push(v.toString())),
    3,
  );
  assert.deepEqual(got, ['abc', 'def']);
});

test('every split of a body plus trailing bytes', () => {
  const all = Buffer.from('0123456789NEXT');
  for (let cut = 0; cut <= all.length; cut++) {
    const d = new LengthDecoder(10);
    let data = '';
    let rest = '';
    for (const part of [all.subarray(0, cut), all.subarray(cut)]) {
      if (d.done) {
        rest += part.toString();
        continue;
      }
      const end = d.push(part, (v) => (data += v.toString()));
      if (end !== -1) rest += part.subarray(end).toString();
    }
    assert.equal(data, '0123456789', `cut ${cut}`);
    assert.equal(rest, 'NEXT', `cut ${cut}`);
  }
});

test('an empty push changes nothing', () => {
  const d = new LengthDecoder(1);
  assert.equal(
    d.push(Buffer.alloc(0), () => assert.fail('no data')),
    -1,
  );
  assert.equal(d.remaining, 1);
});

test('zero length is done at once', () => {
  const d = new LengthDecoder(0);
  assert.equal(d.done, true);
  assert.equal(
    d.push(Buffer.from('x'), () => assert.fail('no data')),
    0,
  );
});

test('reset for the next body', () => {
  const d = new LengthDecoder(1);
  d.push(Buffer.from('a'), () => {});
  d.reset(2);
  assert.equal(d.remaining, 2);
});

test('refuses invalid lengths', () => {
  assert.throws(() => new LengthDecoder(-1), RangeError);
  assert.throws(() => new LengthDecoder(1.5), RangeError);
  assert.throws(() => new LengthDecoder(2 ** 53), RangeError);
});
