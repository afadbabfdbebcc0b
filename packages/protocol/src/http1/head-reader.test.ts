import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeadReader, HttpParseError } from './index.js';

const REQ = 'GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n';
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function throwsParse(fn: () => unknown, status: number, detail: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
    assert.equal(e.detail, detail);
    assert.equal(e.status, status);
    return true;
  });
}

test('a head in one chunk comes back as a view of that chunk', () => {
  const chunk = b(REQ);
  const r = new HeadReader().push(chunk);
  assert.ok(r);
  assert.equal(r.head.toString('latin1'), REQ);
  assert.equal(r.rest, null);
  assert.equal(r.head.buffer, chunk.buffer);
  assert.equal(r.head.byteOffset, chunk.byteOffset);
});

test('bytes after the head are returned as rest (a view)', () => {
  const chunk = b(REQ + 'BODY');
  const r = new HeadReader().push(chunk)!;
  assert.equal(r.head.toString('latin1'), REQ);
  assert.equal(r.rest!.toString('latin1'), 'BODY');
  assert.equal(r.rest!.buffer, chunk.buffer);
});

test('pipelined requests: rest holds the next head', () => {
  const second = 'GET /2 HTTP/1.1\r\nHost: example.com\r\n\r\n';
  const reader = new HeadReader();
  const r1 = reader.push(b(REQ + second + 'GET /3'))!;
  assert.equal(r1.head.toString('latin1'), REQ);
  reader.reset();
  const r2 = reader.push(r1.rest!)!;
  assert.equal(r2.head.toString('latin1'), second);
  assert.equal(r2.rest!.toString('latin1'), 'GET /3');
  reader.reset();
  assert.equal(reader.push(r2.rest!), null);
  assert.equal(reader.bufferedBytes, 6);
});

test('one byte at a time', () => {
  const reader = new HeadReader();
  const bytes = b(REQ + 'X');
  let result = null;
  for (let i = 0; i < bytes.length && result === null; i++) {
    result = reader.push(bytes.subarray(i, i + 1));
    if (i < REQ.length - 1) assert.equal(result, null, `complete too early at ${i}`);
  }
  assert.ok(result);
  assert.equal(result.head.toString('latin1'), REQ);
  assert.equal(result.rest, null); // the last pushed byte was the final LF
});

test('every two-way split gives the same head and rest', () => {
  const bytes = b(REQ + 'rest');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const reader = new HeadReader();
    let r = reader.push(bytes.subarray(0, cut));
    if (r === null) r = reader.push(bytes.subarray(cut));
    assert.ok(r, `cut ${cut}`);
    assert.equal(r.head.toString('latin1'), REQ, `cut ${cut}`);
    const rest = r.rest?.toString('latin1') ?? '';
    // When the head ends inside the first part, rest is the tail of that part only.
    assert.equal(rest, cut >= REQ.length ? 'rest'.slice(0, cut - REQ.length) : 'rest', `cut ${cut}`);
  }
});

test('an empty chunk changes nothing', () => {
  const reader = new HeadReader();
  assert.equal(reader.push(Buffer.alloc(0)), null);
  assert.equal(reader.push(b(REQ))!.head.toString('latin1'), REQ);
});

test('one leading CRLF is skipped', () => {
  const r = new HeadReader().push(b('\r\n' + REQ))!;
  assert.equal(r.head.toString('latin1'), REQ);
});

test('a leading CRLF split from the head is skipped', () => {
  const reader = new HeadReader();
  assert.equal(reader.push(b('\r')), null);
  assert.equal(reader.push(b('\nGET / HT')), null);
  const r = reader.push(b('TP/1.1\r\nHost: x\r\n\r\n'))!;
  assert.equal(r.head.toString('latin1'), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
});

test('two leading CRLFs are refused', () => {
  throwsParse(() => new HeadReader().push(b('\r\n\r\n' + REQ)), 400, 'empty line before start line');
});

test('bare LF line ending is refused', () => {
  throwsParse(() => new HeadReader().push(b('GET / HTTP/1.1\nHost: x\r\n\r\n')), 400, 'bare LF in head');
});

test('LF-only head is refused, not waited on', () => {
  throwsParse(() => new HeadReader().push(b('GET / HTTP/1.1\n\n')), 400, 'bare LF in head');
});

test('bare LF at the start of a chunk after a non-CR byte is refused', () => {
  const reader = new HeadReader();
  assert.equal(reader.push(b('GET / HTTP/1.1')), null);
  throwsParse(() => reader.push(b('\nHost: x\r\n\r\n')), 400, 'bare LF in head');
});

test('CRLF split across chunks is fine', () => {
  const reader = new HeadReader();
  assert.equal(reader.push(b('GET / HTTP/1.1\r')), null);
  assert.equal(reader.push(b('\nHost: x\r\n\r')), null);
  assert.ok(reader.push(b('\n')));
});

test('bare LF right after a CRLF (LF LF) is refused', () => {
  throwsParse(() => new HeadReader().push(b('GET / HTTP/1.1\r\n\n')), 400, 'bare LF in head');
});

test('431 as soon as the limit is passed without a complete head', () => {
  const reader = new HeadReader({ maxHeadBytes: 100 });
  assert.equal(reader.push(b('GET /' + 'a'.repeat(95))), null); // exactly 100 bytes
  throwsParse(() => reader.push(b('a')), 431, 'request head too large');
});

test('431 on many short lines past the limit', () => {
  const reader = new HeadReader({ maxHeadBytes: 100 });
  throwsParse(() => reader.push(b('GET / HTTP/1.1\r\n' + 'X: 1\r\n'.repeat(20))), 431, 'request head too large');
});

test('431 for a complete head larger than the limit', () => {
  const head = 'GET / HTTP/1.1\r\nHost: x\r\n' + 'X: 1234567890\r\n'.repeat(10) + '\r\n';
  throwsParse(() => new HeadReader({ maxHeadBytes: head.length - 1 }).push(b(head)), 431, 'request head too large');
});

test('a head of exactly maxHeadBytes is accepted', () => {
  assert.ok(new HeadReader({ maxHeadBytes: REQ.length }).push(b(REQ + 'more body bytes')));
});

test('the skipped CRLF does not count against the limit', () => {
  assert.ok(new HeadReader({ maxHeadBytes: REQ.length }).push(b('\r\n' + REQ)));
});

test('response mode reports 502', () => {
  throwsParse(
    () => new HeadReader({ maxHeadBytes: 10 }, 'response').push(b('HTTP/1.1 200 OK')),
    502,
    'response head too large',
  );
  throwsParse(() => new HeadReader(undefined, 'response').push(b('HTTP/1.1 200 OK\n\n')), 502, 'bare LF in head');
});

test('response mode reads a head and keeps the body as rest', () => {
  const r = new HeadReader(undefined, 'response').push(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'))!;
  assert.equal(r.rest!.toString(), 'hi');
});

test('push after completion needs reset()', () => {
  const reader = new HeadReader();
  reader.push(b(REQ));
  assert.throws(() => reader.push(b(REQ)), /reset/);
  reader.reset();
  assert.ok(reader.push(b(REQ)));
});
