import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LineSplitter } from './line-splitter.js';

function collect(splitter: LineSplitter, chunks: Buffer[]): Array<string | 'OVERFLOW'> {
  const out: Array<string | 'OVERFLOW'> = [];
  for (const chunk of chunks) {
    splitter.push(chunk, {
      line: (line) => void out.push(line.toString('utf8')),
      overflow: () => void out.push('OVERFLOW'),
    });
  }
  return out;
}

test('lines split across chunks are joined, CRLF is tolerated', () => {
  const out = collect(new LineSplitter(100), [Buffer.from('pi'), Buffer.from('d\r\nver'), Buffer.from('sion\nqu')]);
  assert.deepEqual(out, ['pid', 'version']);
});

test('a multi-byte character split between chunks decodes intact', () => {
  const bytes = Buffer.from('héllo\n');
  const out = collect(new LineSplitter(100), [bytes.subarray(0, 2), bytes.subarray(2)]);
  assert.deepEqual(out, ['héllo']);
});

test('a line of exactly the bound passes; one byte more overflows once and the next line still parses', () => {
  const max = 8;
  assert.deepEqual(collect(new LineSplitter(max), [Buffer.from('12345678\n')]), ['12345678']);
  assert.deepEqual(collect(new LineSplitter(max), [Buffer.from('123456789\nok\n')]), ['OVERFLOW', 'ok']);
  // Overflow detected before the newline arrives: the rest of that line is dropped across chunks.
  const out = collect(new LineSplitter(max), [Buffer.from('1234567890'), Buffer.from('abc'), Buffer.from('def\nnext\n')]);
  assert.deepEqual(out, ['OVERFLOW', 'next']);
});

test('returning false from line() stops the current push', () => {
  const splitter = new LineSplitter(100);
  const seen: string[] = [];
  splitter.push(Buffer.from('a\nb\nc\n'), { line: (l) => (seen.push(l.toString()), l.toString() !== 'a'), overflow: () => undefined });
  assert.deepEqual(seen, ['a']);
});

test('the bound can be raised between pushes (text mode to JSON mode)', () => {
  const splitter = new LineSplitter(4);
  const out = collect(splitter, [Buffer.from('json\n')]);
  splitter.maxLineBytes = 100;
  out.push(...collect(splitter, [Buffer.from('{"id":1}\n')]));
  assert.deepEqual(out, ['json', '{"id":1}']);
});
