import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkedDecoder, HttpParseError, MAX_CHUNK_SIZE_LINE, type ChunkedDecoderOptions } from './index.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Decoded {
  data: string;
  /** Bytes left over after the body, across the remaining parts. */
  rest: string;
  done: boolean;
  decoder: ChunkedDecoder;
}

/** Feeds `parts` in order; collects data and everything after the body's end. */
function decode(parts: Buffer[], options?: ChunkedDecoderOptions): Decoded {
  const decoder = new ChunkedDecoder(options);
  const out: Buffer[] = [];
  let rest = '';
  let done = false;
  for (const part of parts) {
    if (done) {
      rest += part.toString('latin1');
      continue;
    }
    const end = decoder.push(part, (d) => {
      assert.ok(d.length > 0, 'onData got an empty buffer');
      out.push(d);
    });
    if (end !== -1) {
      done = true;
      rest += part.subarray(end).toString('latin1');
    }
  }
  return { data: Buffer.concat(out).toString('latin1'), rest, done, decoder };
}

function rejects(input: string | Buffer[], status: number, detail: string, options?: ChunkedDecoderOptions): void {
  assert.throws(
    () => decode(typeof input === 'string' ? [b(input)] : input, options),
    (e: unknown) => {
      assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
      assert.equal(e.detail, detail);
      assert.equal(e.status, status);
      return true;
    },
  );
}

/** Deterministic PRNG (mulberry32) so random splits are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BODY =
  '5\r\nhello\r\n' +
  '1A;name=value;flag\r\n' +
  'abcdefghijklmnopqrstuvwxyz\r\n' +
  '3 ; q = "a \\"quoted\\" ;=,"\t; z\r\n' + // BWS around ';' and '=', a quoted-string with escapes
  'xyz\r\n' +
  '0\r\n' +
  'X-Checksum: abc\r\n' +
  'X-Other:  two  \r\n' +
  '\r\n';
const DATA = 'hello' + 'abcdefghijklmnopqrstuvwxyz' + 'xyz';
const NEXT = 'GET /next HTTP/1.1\r\n';

test('decodes a body with extensions and trailers', () => {
  const r = decode([b(BODY + NEXT)]);
  assert.equal(r.data, DATA);
  assert.equal(r.rest, NEXT);
  assert.equal(r.decoder.done, true);
  assert.deepEqual(r.decoder.trailers, [
    { name: 'X-Checksum', lname: 'x-checksum', value: 'abc' },
    { name: 'X-Other', lname: 'x-other', value: 'two' },
  ]);
});

test('returns the offset just after the body', () => {
  const d = new ChunkedDecoder();
  const chunk = b('0\r\n\r\nNEXT');
  assert.equal(
    d.push(chunk, () => assert.fail('no data expected')),
    5,
  );
});

test('returns -1 while the body continues', () => {
  const d = new ChunkedDecoder();
  assert.equal(
    d.push(b('5\r\nhel'), () => {}),
    -1,
  );
  assert.equal(d.done, false);
});

test('one byte at a time', () => {
  const all = b(BODY + NEXT);
  const parts: Buffer[] = [];
  for (let i = 0; i < all.length; i++) parts.push(all.subarray(i, i + 1));
  const r = decode(parts);
  assert.equal(r.data, DATA);
  assert.equal(r.rest, NEXT);
  assert.equal(r.decoder.trailers.length, 2);
});

test('every two-way split', () => {
  const all = b(BODY + NEXT);
  for (let cut = 0; cut <= all.length; cut++) {
    const r = decode([all.subarray(0, cut), all.subarray(cut)]);
    assert.equal(r.data, DATA, `cut ${cut}`);
    assert.equal(r.rest, NEXT, `cut ${cut}`);
    assert.equal(r.decoder.trailers[1]?.value, 'two', `cut ${cut}`);
  }
});

test('random splits (fixed seed)', () => {
  const all = b(BODY + NEXT);
  const rand = prng(0x5eed);
  for (let round = 0; round < 300; round++) {
    const parts: Buffer[] = [];
    let at = 0;
    while (at < all.length) {
      const n = 1 + Math.floor(rand() * 12);
      parts.push(all.subarray(at, at + n));
      at += n;
    }
    const r = decode(parts);
    assert.equal(r.data, DATA, `round ${round}`);
    assert.equal(r.rest, NEXT, `round ${round}`);
  }
});

test('large chunk split across pushes, data passed as views without copying', () => {
  const payload = Buffer.alloc(10000, 0x61);
  const all = Buffer.concat([b('2710\r\n'), payload, b('\r\n0\r\n\r\n')]);
  const d = new ChunkedDecoder();
  const views: Buffer[] = [];
  const first = all.subarray(0, 4000);
  const second = all.subarray(4000);
  assert.equal(d.push(first, (v) => views.push(v)), -1);
  assert.equal(d.push(second, (v) => views.push(v)), second.length);
  assert.equal(views.length, 2);
  assert.equal(views[0]!.length + views[1]!.length, 10000);
  for (const v of views) assert.equal(v.buffer, all.buffer);
});

test('a push holding only data hands that very buffer on', () => {
  const d = new ChunkedDecoder();
  d.push(b('a\r\n'), () => {});
  const data = b('0123456789');
  let got: Buffer | undefined;
  d.push(data, (v) => (got = v));
  assert.equal(got, data);
});

test('uppercase hex and leading zeros', () => {
  assert.equal(decode([b('000A\r\n0123456789\r\n0000\r\n\r\n')]).data, '0123456789');
});

test('sixteen hex digits are allowed', () => {
  assert.equal(decode([b('0000000000000001\r\nx\r\n0\r\n\r\n')]).data, 'x');
});

test('reset() allows decoding the next body', () => {
  const d = new ChunkedDecoder();
  assert.equal(d.push(b('1\r\na\r\n0\r\nT: 1\r\n\r\n'), () => {}) > 0, true);
  assert.throws(() => d.push(b('0\r\n\r\n'), () => {}), /reset/);
  const first = d.trailers;
  d.reset();
  assert.deepEqual(d.trailers, []);
  assert.equal(first.length, 1);
  assert.equal(d.push(b('0\r\n\r\n'), () => {}), 5);
});

test('response peer: lenient trailers', () => {
  const r = decode([b('0\r\nX-A: one\r\n two\r\nX-B : 3\r\n\r\n')], { peer: 'response' });
  assert.deepEqual(
    r.decoder.trailers.map((t) => [t.name, t.value]),
    [
      ['X-A', 'one two'],
      ['X-B', '3'],
    ],
  );
});

// --- rejections

test('rejects a missing chunk size', () => rejects('\r\n', 400, 'invalid chunk size'));
test('rejects a non-hex chunk size', () => rejects('g\r\n', 400, 'invalid chunk size'));
test('rejects a signed chunk size', () => rejects('-5\r\nhello\r\n0\r\n\r\n', 400, 'invalid chunk size'));
test('rejects a 0x prefix', () => rejects('0x5\r\nhello\r\n', 400, 'invalid chunk size'));
test('rejects 17 hex digits', () => rejects('00000000000000001\r\nx\r\n', 400, 'chunk size has too many digits'));
test('rejects a size above the default 2^40', () => rejects('10000000001\r\n', 400, 'chunk size too large'));
test('accepts exactly the configured maximum', () => {
  assert.equal(decode([b('10\r\n0123456789abcdef\r\n0\r\n\r\n')], { maxChunkSize: 16 }).data.length, 16);
});
test('rejects a size above a configured maximum', () =>
  rejects('11\r\n', 400, 'chunk size too large', { maxChunkSize: 16 }));
test('rejects a bare LF after the size', () => rejects('5\nhello\r\n0\r\n\r\n', 400, 'bare LF in chunked body'));
test('rejects a bare CR after the size', () => rejects('5\rhello\r\n', 400, 'bare CR in chunk size line'));
test('rejects whitespace after the size without an extension', () =>
  rejects('5 \r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects data longer than the size', () => rejects('5\r\nhelloX\r\n', 400, 'missing CRLF after chunk data'));
test('rejects data shorter than the size', () => rejects('5\r\nhell\r\n0\r\n\r\n', 400, 'bare LF in chunked body'));
test('rejects a bare LF after data', () => rejects('5\r\nhello\n0\r\n\r\n', 400, 'bare LF in chunked body'));
test('rejects a bare CR after data', () => rejects('5\r\nhello\rX', 400, 'missing CRLF after chunk data'));
test('rejects an empty extension', () => rejects('5;\r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects an extension with an empty value', () => rejects('5;a=\r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects a non-token extension name', () => rejects('5;a@b\r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects an unterminated quoted extension', () => rejects('5;a="x\r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects a bare LF inside an extension', () => rejects('5;a=b\nhello\r\n', 400, 'bare LF in chunked body'));
test('rejects trailing whitespace after an extension', () =>
  rejects('5;a=b \r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects junk after a quoted extension value', () =>
  rejects('5;a="b"c\r\nhello\r\n', 400, 'invalid chunk extension'));
test('rejects a chunk-size line over the bound', () =>
  rejects('5;a=' + 'x'.repeat(MAX_CHUNK_SIZE_LINE) + '\r\nhello\r\n', 400, 'chunk size line too long'));
test('rejects a chunk-size line over the bound across pushes', () =>
  rejects([b('5;a='), b('x'.repeat(MAX_CHUNK_SIZE_LINE))], 400, 'chunk size line too long'));
test('maxLineLength: a chunk-size line of exactly the limit passes, one byte more fails', () => {
  const line = (n: number) => '5;a=' + 'x'.repeat(n - 4);
  assert.equal(decode([b(line(64) + '\r\nhello\r\n0\r\n\r\n')], { maxLineLength: 64 }).data, 'hello');
  rejects(line(65) + '\r\nhello\r\n', 400, 'chunk size line too long', { maxLineLength: 64 });
});
test('maxLineLength bounds each trailer line, split or not', () => {
  const field = (n: number) => 'X: ' + 'v'.repeat(n - 3);
  assert.equal(decode([b('0\r\n' + field(32) + '\r\n\r\n')], { maxLineLength: 32 }).decoder.trailers.length, 1);
  rejects('0\r\n' + field(33) + '\r\n\r\n', 400, 'trailer line too long', { maxLineLength: 32 });
  rejects([b('0\r\nX: '), b('v'.repeat(20)), b('v'.repeat(20) + '\r\n\r\n')], 502, 'trailer line too long', { maxLineLength: 32, peer: 'response' });
});
test('rejects a bare LF ending a trailer', () => rejects('0\r\nX: 1\n\r\n', 400, 'bare LF in chunked body'));
test('rejects a bare LF ending the body', () => rejects('0\r\n\n', 400, 'bare LF in chunked body'));
test('rejects a bare CR ending the body', () => rejects('0\r\n\rX', 400, 'bare CR in trailer section'));
test('rejects obs-fold in request trailers', () =>
  rejects('0\r\nX: 1\r\n 2\r\n\r\n', 400, 'obs-fold in header section'));
test('rejects a malformed trailer name', () => rejects('0\r\nX(Y): 1\r\n\r\n', 400, 'invalid character in header name'));
test('rejects a control character in a trailer value', () =>
  rejects('0\r\nX: a\x01\r\n\r\n', 400, 'control character in header value'));
test('rejects a trailer section over 16 KiB', () =>
  rejects('0\r\n' + 'X: 123456789012345678901234567890\r\n'.repeat(500) + '\r\n', 400, 'trailer section too large'));
test('rejects too many trailers', () =>
  rejects('0\r\nA: 1\r\nB: 2\r\n\r\n', 431, 'too many header fields', { maxTrailerCount: 1 }));
test('response peer errors are 502', () => rejects('zz\r\n', 502, 'invalid chunk size', { peer: 'response' }));
