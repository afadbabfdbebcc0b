import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HTTP_LIMITS, HttpParseError, parseResponseHead, type ResponseHead } from './index.js';

const msg = (line: string, ...headers: string[]): string => line + '\r\n' + headers.map((h) => h + '\r\n').join('') + '\r\n';
const parse = (text: string, method = 'GET', limits = DEFAULT_HTTP_LIMITS): ResponseHead =>
  parseResponseHead(Buffer.from(text, 'latin1'), method, limits);

function rejects(text: string, detail: string, method = 'GET', limits = DEFAULT_HTTP_LIMITS): void {
  assert.throws(
    () => parse(text, method, limits),
    (e: unknown) => {
      assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
      assert.equal(e.detail, detail);
      assert.equal(e.status, 502);
      assert.equal(e.code, 'UPSTREAM_PROTOCOL_INVALID');
      return true;
    },
  );
}

test('200 with Content-Length', () => {
  const text = msg('HTTP/1.1 200 OK', 'Content-Type: text/plain', 'Content-Length: 12');
  const r = parse(text);
  assert.equal(r.versionMinor, 1);
  assert.equal(r.status, 200);
  assert.equal(r.reason, 'OK');
  assert.equal(r.bodyKind, 'length');
  assert.equal(r.contentLength, 12);
  assert.equal(r.keepAlive, true);
  assert.equal(r.headBytes, text.length);
  assert.deepEqual(r.headers[0], { name: 'Content-Type', lname: 'content-type', value: 'text/plain' });
});

test('Content-Length: 0 means no body, connection stays usable', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Content-Length: 0'));
  assert.equal(r.bodyKind, 'none');
  assert.equal(r.keepAlive, true);
});

test('chunked', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Transfer-Encoding: Chunked'));
  assert.equal(r.bodyKind, 'chunked');
  assert.deepEqual(r.transferCodings, ['chunked']);
});

test('other codings before a final chunked are kept in transferCodings', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'));
  assert.equal(r.bodyKind, 'chunked');
  assert.deepEqual(r.transferCodings, ['gzip', 'chunked']);
});

test('Transfer-Encoding without a final chunked is close-delimited', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip'));
  assert.equal(r.bodyKind, 'close');
  assert.equal(r.keepAlive, false);
});

test('no framing fields: close-delimited', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Content-Type: text/html'));
  assert.equal(r.bodyKind, 'close');
  assert.equal(r.keepAlive, false);
});

for (const status of [100, 101, 103, 204, 304]) {
  test(`${status} has no body even with framing fields`, () => {
    const r = parse(msg(`HTTP/1.1 ${status} X`, 'Content-Length: 10', 'Transfer-Encoding: chunked'));
    assert.equal(r.bodyKind, 'none');
    assert.equal(r.contentLength, 0);
  });
}

test('a response to HEAD has no body', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Content-Length: 1000'), 'HEAD');
  assert.equal(r.bodyKind, 'none');
  assert.equal(r.keepAlive, true);
  assert.equal(r.headers[0]!.value, '1000');
});

test('a 2xx response to CONNECT has no body', () => {
  assert.equal(parse(msg('HTTP/1.1 200 Connection established'), 'CONNECT').bodyKind, 'none');
});

test('a non-2xx response to CONNECT has a body', () => {
  const r = parse(msg('HTTP/1.1 407 Proxy Authentication Required', 'Content-Length: 5'), 'CONNECT');
  assert.equal(r.bodyKind, 'length');
  assert.equal(r.contentLength, 5);
});

test('equal duplicate Content-Length fields are accepted', () => {
  assert.equal(parse(msg('HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 5')).contentLength, 5);
});

test('an equal Content-Length list is accepted', () => {
  assert.equal(parse(msg('HTTP/1.1 200 OK', 'Content-Length: 5, 5')).contentLength, 5);
});

test('HTTP/1.0 closes unless keep-alive', () => {
  assert.equal(parse(msg('HTTP/1.0 200 OK', 'Content-Length: 1')).keepAlive, false);
  const r = parse(msg('HTTP/1.0 200 OK', 'Content-Length: 1', 'Connection: keep-alive'));
  assert.equal(r.versionMinor, 0);
  assert.equal(r.keepAlive, true);
});

test('HTTP/1.0 with Transfer-Encoding is read to close', () => {
  const r = parse(msg('HTTP/1.0 200 OK', 'Transfer-Encoding: chunked', 'Connection: keep-alive'));
  assert.equal(r.bodyKind, 'close');
  assert.equal(r.keepAlive, false);
});

test('Connection: close on HTTP/1.1', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Content-Length: 1', 'Connection: Close, X-Hop'));
  assert.equal(r.keepAlive, false);
  assert.deepEqual(r.connectionTokens, ['close', 'x-hop']);
});

test('reason phrase may be empty, with or without the SP', () => {
  assert.equal(parse(msg('HTTP/1.1 200 ', 'Content-Length: 0')).reason, '');
  assert.equal(parse(msg('HTTP/1.1 200', 'Content-Length: 0')).reason, '');
});

test('reason phrase may hold any visible text', () => {
  assert.equal(parse(msg('HTTP/1.1 404 Nicht  gefunden (\xfc) :-/\t!', 'Content-Length: 0')).reason, 'Nicht  gefunden (\xfc) :-/\t!');
});

test('whitespace before the colon is dropped', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'Content-Length : 3'));
  assert.equal(r.headers[0]!.name, 'Content-Length');
  assert.equal(r.bodyKind, 'length');
});

test('obs-fold is replaced with SP', () => {
  const r = parse(msg('HTTP/1.1 200 OK', 'X-Long: part one', '   part two', '\tpart three', 'Content-Length: 0'));
  assert.equal(r.headers[0]!.value, 'part one part two part three');
  assert.equal(r.headers.length, 2);
});

test('rejects Transfer-Encoding with Content-Length', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 5'), 'content-length with transfer-encoding'));
test('rejects conflicting Content-Length fields', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 6'), 'conflicting content-length'));
test('rejects a conflicting Content-Length list', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Content-Length: 5, 6'), 'conflicting content-length'));
test('rejects an invalid Content-Length', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Content-Length: abc'), 'invalid content-length'));
test('rejects an empty Content-Length', () => rejects(msg('HTTP/1.1 200 OK', 'Content-Length:'), 'invalid content-length'));
test('rejects a Content-Length above MAX_SAFE_INTEGER', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Content-Length: 99999999999999999'), 'content-length too large'));
test('rejects chunked applied twice', () =>
  rejects(msg('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, chunked'), 'chunked applied more than once'));
test('rejects a two-digit status', () => rejects(msg('HTTP/1.1 20 OK'), 'invalid status code'));
test('rejects a truncated status line', () => rejects(msg('HTTP/1.1 20'), 'malformed status line'));
test('rejects a non-digit status', () => rejects(msg('HTTP/1.1 2x0 OK'), 'invalid status code'));
test('rejects a status below 100', () => rejects(msg('HTTP/1.1 099 Odd'), 'invalid status code'));
test('rejects a status glued to the reason', () => rejects(msg('HTTP/1.1 200OK'), 'malformed status line'));
test('rejects HTTP/2.0', () => rejects(msg('HTTP/2.0 200 OK'), 'unsupported HTTP version'));
test('rejects a non-HTTP status line', () => rejects(msg('ICY 200 OK'), 'malformed status line'));
test('rejects a garbled version', () => rejects(msg('HTTP/1.x 200 OK'), 'invalid HTTP version'));
test('rejects a control character in the reason', () =>
  rejects(msg('HTTP/1.1 200 O\x01K'), 'invalid character in reason phrase'));
test('rejects NUL in a value', () => rejects(msg('HTTP/1.1 200 OK', 'X: a\x00'), 'NUL in header value'));
test('rejects obs-fold before any field', () => rejects(msg('HTTP/1.1 200 OK', ' X: a'), 'obs-fold in header section'));
test('rejects a non-token field name', () =>
  rejects(msg('HTTP/1.1 200 OK', 'X(Y): 1'), 'invalid character in header name'));
test('rejects too many fields with 502', () =>
  rejects(msg('HTTP/1.1 200 OK', 'A: 1', 'B: 2'), 'too many header fields', 'GET', {
    ...DEFAULT_HTTP_LIMITS,
    maxHeaderCount: 1,
  }));
test('rejects a head without the final empty line', () => rejects('HTTP/1.1 200 OK\r\n', 'incomplete head'));
