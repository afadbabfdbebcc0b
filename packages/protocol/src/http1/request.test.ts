import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HTTP_LIMITS, HttpParseError, parseRequestHead, type RequestHead } from './index.js';

const parse = (text: string, limits = DEFAULT_HTTP_LIMITS): RequestHead =>
  parseRequestHead(Buffer.from(text, 'latin1'), limits);

/** A request with the given start line and header lines. */
const msg = (line: string, ...headers: string[]): string => line + '\r\n' + headers.map((h) => h + '\r\n').join('') + '\r\n';

function rejects(text: string, status: number, detail: string, limits = DEFAULT_HTTP_LIMITS): void {
  assert.throws(
    () => parse(text, limits),
    (e: unknown) => {
      assert.ok(e instanceof HttpParseError, `expected HttpParseError, got ${String(e)}`);
      assert.equal(e.detail, detail);
      assert.equal(e.status, status);
      return true;
    },
  );
}

test('origin-form GET with Host', () => {
  const text = msg('GET /index.html?a=1 HTTP/1.1', 'Host: example.com', 'User-Agent: curl/8.0', 'Accept: */*');
  const h = parse(text);
  assert.equal(h.method, 'GET');
  assert.equal(h.target, '/index.html?a=1');
  assert.equal(h.targetForm, 'origin');
  assert.equal(h.versionMinor, 1);
  assert.equal(h.host, 'example.com');
  assert.equal(h.bodyKind, 'none');
  assert.equal(h.contentLength, 0);
  assert.equal(h.keepAlive, true);
  assert.equal(h.expectContinue, false);
  assert.equal(h.expectOther, false);
  assert.deepEqual(h.connectionTokens, []);
  assert.equal(h.headBytes, Buffer.byteLength(text));
  assert.deepEqual(h.headers, [
    { name: 'Host', lname: 'host', value: 'example.com' },
    { name: 'User-Agent', lname: 'user-agent', value: 'curl/8.0' },
    { name: 'Accept', lname: 'accept', value: '*/*' },
  ]);
});

test('absolute-form needs no Host on HTTP/1.1', () => {
  const h = parse(msg('GET http://example.com/x HTTP/1.1'));
  assert.equal(h.targetForm, 'absolute');
  assert.equal(h.host, undefined);
});

test('absolute-form with other schemes and mixed case', () => {
  assert.equal(parse(msg('GET HTTPS://example.com/ HTTP/1.1')).targetForm, 'absolute');
  assert.equal(parse(msg('GET ftp://example.com/f HTTP/1.1')).targetForm, 'absolute');
});

test('CONNECT needs no Host and is authority-form', () => {
  const h = parse(msg('CONNECT example.com:443 HTTP/1.1'));
  assert.equal(h.targetForm, 'authority');
  assert.equal(h.target, 'example.com:443');
  assert.equal(h.bodyKind, 'none');
});

test('CONNECT with Content-Length: 0 is accepted', () => {
  assert.equal(parse(msg('CONNECT example.com:443 HTTP/1.1', 'Content-Length: 0')).bodyKind, 'none');
});

test('OPTIONS * is asterisk-form', () => {
  assert.equal(parse(msg('OPTIONS * HTTP/1.1', 'Host: x')).targetForm, 'asterisk');
});

test('extension methods are tokens', () => {
  assert.equal(parse(msg('M-SEARCH / HTTP/1.1', 'Host: x')).method, 'M-SEARCH');
  assert.equal(parse(msg('PROPFIND /d HTTP/1.1', 'Host: x')).method, 'PROPFIND');
});

test('HTTP/1.0 without Host, closes by default', () => {
  const h = parse(msg('GET / HTTP/1.0'));
  assert.equal(h.versionMinor, 0);
  assert.equal(h.keepAlive, false);
});

test('HTTP/1.0 keep-alive only with Connection: keep-alive', () => {
  assert.equal(parse(msg('GET / HTTP/1.0', 'Connection: Keep-Alive')).keepAlive, true);
  assert.equal(parse(msg('GET / HTTP/1.0', 'Connection: keep-alive, close')).keepAlive, false);
});

test('HTTP/1.1 Connection: close ends keep-alive', () => {
  assert.equal(parse(msg('GET / HTTP/1.1', 'Host: x', 'Connection: close')).keepAlive, false);
  assert.equal(parse(msg('GET / HTTP/1.1', 'Host: x', 'Connection: CLOSE')).keepAlive, false);
});

test('Connection tokens from all Connection fields, lowercased, empty elements dropped', () => {
  const h = parse(msg('GET / HTTP/1.1', 'Host: x', 'Connection: Keep-Alive, Upgrade', 'connection: ,X-Custom ,'));
  assert.deepEqual(h.connectionTokens, ['keep-alive', 'upgrade', 'x-custom']);
});

test('Content-Length body', () => {
  const h = parse(msg('POST /p HTTP/1.1', 'Host: x', 'Content-Length: 1234'));
  assert.equal(h.bodyKind, 'length');
  assert.equal(h.contentLength, 1234);
});

test('Content-Length: 0 means no body', () => {
  const h = parse(msg('POST /p HTTP/1.1', 'Host: x', 'Content-Length: 0'));
  assert.equal(h.bodyKind, 'none');
  assert.equal(h.contentLength, 0);
});

test('largest safe Content-Length is accepted', () => {
  assert.equal(parse(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 9007199254740991')).contentLength, 2 ** 53 - 1);
});

test('chunked body, case-insensitive', () => {
  assert.equal(parse(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked')).bodyKind, 'chunked');
  assert.equal(parse(msg('POST / HTTP/1.1', 'Host: x', 'transfer-encoding: ChUnKeD')).bodyKind, 'chunked');
});

test('chunked with empty list elements around it', () => {
  assert.equal(parse(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: , chunked ,')).bodyKind, 'chunked');
});

test('Expect: 100-continue (case-insensitive)', () => {
  const h = parse(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Expect: 100-Continue'));
  assert.equal(h.expectContinue, true);
  assert.equal(h.expectOther, false);
});

test('Expect: 100-continue is ignored on HTTP/1.0', () => {
  const h = parse(msg('POST / HTTP/1.0', 'Content-Length: 3', 'Expect: 100-continue'));
  assert.equal(h.expectContinue, false);
  assert.equal(h.expectOther, false);
});

test('other Expect values are reported, not refused', () => {
  const h = parse(msg('POST / HTTP/1.1', 'Host: x', 'Expect: something-else'));
  assert.equal(h.expectOther, true);
  assert.equal(h.expectContinue, false);
});

test('values: OWS trimmed, inner HTAB and obs-text kept, empty allowed', () => {
  const h = parse(msg('GET / HTTP/1.1', 'Host: x', 'X-A: \t a\tb \t', 'X-B:', 'X-C: caf\xe9'));
  assert.equal(h.headers[1]!.value, 'a\tb');
  assert.equal(h.headers[2]!.value, '');
  assert.equal(h.headers[3]!.value, 'caf\xe9');
});

test('exactly maxHeaderCount fields and maxUriLength target are accepted', () => {
  const limits = { ...DEFAULT_HTTP_LIMITS, maxHeaderCount: 3, maxUriLength: 10 };
  const h = parse(msg('GET /123456789 HTTP/1.1', 'Host: x', 'A: 1', 'B: 2'), limits);
  assert.equal(h.headers.length, 3);
});

// --- request line rejections

test('rejects double space before the target', () =>
  rejects(msg('GET  / HTTP/1.1', 'Host: x'), 400, 'whitespace in request-target'));
test('rejects double space after the target', () =>
  rejects(msg('GET /  HTTP/1.1', 'Host: x'), 400, 'whitespace in request-target'));
test('rejects an empty target', () => rejects(msg('GET  HTTP/1.1', 'Host: x'), 400, 'empty request-target'));
test('rejects whitespace inside target', () =>
  rejects(msg('GET /a b HTTP/1.1', 'Host: x'), 400, 'whitespace in request-target'));
test('rejects trailing space after version', () =>
  rejects(msg('GET / HTTP/1.1 ', 'Host: x'), 400, 'invalid HTTP version'));
test('rejects leading space', () => rejects(msg(' GET / HTTP/1.1', 'Host: x'), 400, 'invalid method'));
test('rejects non-token method', () => rejects(msg('G(T / HTTP/1.1', 'Host: x'), 400, 'invalid method'));
test('rejects HTAB as separator', () => rejects(msg('GET\t/ HTTP/1.1', 'Host: x'), 400, 'invalid method'));
test('rejects an HTTP/0.9-style line', () => rejects(msg('GET /'), 400, 'malformed request line'));
test('rejects a line with no spaces', () => rejects(msg('GET'), 400, 'malformed request line'));
test('rejects HTTP/2.0 with 505', () => rejects(msg('GET / HTTP/2.0', 'Host: x'), 505, 'unsupported HTTP version'));
test('rejects HTTP/1.2 with 505', () => rejects(msg('GET / HTTP/1.2', 'Host: x'), 505, 'unsupported HTTP version'));
test('rejects HTTP/0.9 with 505', () => rejects(msg('GET / HTTP/0.9', 'Host: x'), 505, 'unsupported HTTP version'));
test('rejects lowercase version', () => rejects(msg('GET / http/1.1', 'Host: x'), 400, 'invalid HTTP version'));
test('rejects junk version', () => rejects(msg('GET / HTTP/1.10', 'Host: x'), 400, 'invalid HTTP version'));
test('rejects short version', () => rejects(msg('GET / HTTP/1', 'Host: x'), 400, 'invalid HTTP version'));
test('rejects a target longer than maxUriLength with 414', () =>
  rejects(msg('GET /' + 'a'.repeat(8192) + ' HTTP/1.1', 'Host: x'), 414, 'request-target too long'));
test('rejects a control character in the target', () =>
  rejects(msg('GET /a\x01b HTTP/1.1', 'Host: x'), 400, 'invalid character in request-target'));
test('rejects DEL in the target', () =>
  rejects(msg('GET /a\x7fb HTTP/1.1', 'Host: x'), 400, 'invalid character in request-target'));
test('rejects non-ASCII in the target', () =>
  rejects(msg('GET /caf\xe9 HTTP/1.1', 'Host: x'), 400, 'invalid character in request-target'));
test('rejects a fragment in origin-form', () =>
  rejects(msg('GET /a#b HTTP/1.1', 'Host: x'), 400, 'fragment in request-target'));
test('rejects a fragment in absolute-form', () =>
  rejects(msg('GET http://x/#b HTTP/1.1'), 400, 'fragment in request-target'));
test('rejects asterisk-form outside OPTIONS', () =>
  rejects(msg('GET * HTTP/1.1', 'Host: x'), 400, 'asterisk-form outside OPTIONS'));
test('rejects authority-form outside CONNECT', () =>
  rejects(msg('GET example.com:80 HTTP/1.1', 'Host: x'), 400, 'invalid request-target'));
test('rejects a head without the final empty line', () =>
  rejects('GET / HTTP/1.1\r\nHost: x\r\n', 400, 'incomplete head'));

// --- field line rejections

test('rejects whitespace before the colon', () =>
  rejects(msg('GET / HTTP/1.1', 'Host : x'), 400, 'whitespace before colon'));
test('rejects HTAB before the colon', () =>
  rejects(msg('GET / HTTP/1.1', 'Host\t: x'), 400, 'whitespace before colon'));
test('rejects obs-fold', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'X-A: a', ' continued'), 400, 'obs-fold in header section'));
test('rejects whitespace before the first field line', () =>
  rejects(msg('GET / HTTP/1.1', ' Host: x'), 400, 'obs-fold in header section'));
test('rejects NUL in a value', () => rejects(msg('GET / HTTP/1.1', 'Host: x', 'X: a\x00b'), 400, 'NUL in header value'));
test('rejects bare CR in a value', () => rejects(msg('GET / HTTP/1.1', 'Host: x', 'X: a\rb'), 400, 'bare CR in header value'));
test('rejects bare LF in a value', () => rejects(msg('GET / HTTP/1.1', 'Host: x', 'X: a\nb'), 400, 'bare LF in header value'));
test('rejects DEL in a value', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'X: a\x7fb'), 400, 'control character in header value'));
test('rejects other controls in a value', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'X: a\x1bb'), 400, 'control character in header value'));
test('rejects a non-token field name', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'X@Y: 1'), 400, 'invalid character in header name'));
test('rejects an empty field name', () => rejects(msg('GET / HTTP/1.1', 'Host: x', ': 1'), 400, 'empty header name'));
test('rejects a line without colon', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'NoColon'), 400, 'header line without colon'));
test('rejects more than maxHeaderCount fields with 431', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'A: 1', 'B: 2', 'C: 3'), 431, 'too many header fields', {
    ...DEFAULT_HTTP_LIMITS,
    maxHeaderCount: 3,
  }));

// --- framing rejections

test('rejects Transfer-Encoding with Content-Length', () =>
  rejects(
    msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked'),
    400,
    'content-length with transfer-encoding',
  ));
test('rejects Content-Length after Transfer-Encoding', () =>
  rejects(
    msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 5'),
    400,
    'content-length with transfer-encoding',
  ));
test('rejects Transfer-Encoding in HTTP/1.0', () =>
  rejects(msg('POST / HTTP/1.0', 'Transfer-Encoding: chunked'), 400, 'transfer-encoding in HTTP/1.0'));
test('rejects gzip, chunked with 501', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: gzip, chunked'), 501, 'unsupported transfer-coding'));
test('rejects chunked, chunked', () =>
  rejects(
    msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, chunked'),
    400,
    'chunked applied more than once',
  ));
test('rejects chunked in two Transfer-Encoding fields', () =>
  rejects(
    msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'),
    400,
    'chunked applied more than once',
  ));
test('rejects xchunked with 501', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: xchunked'), 501, 'unsupported transfer-coding'));
test('rejects identity with 501', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: identity'), 501, 'unsupported transfer-coding'));
test('rejects chunked that is not final', () =>
  rejects(
    msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, gzip'),
    400,
    'chunked is not the final transfer-coding',
  ));
test('rejects chunked with parameters', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked;q=1'), 400, 'chunked with parameters'));
test('rejects an empty Transfer-Encoding', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding:'), 400, 'empty transfer-encoding'));
test('rejects a Transfer-Encoding of only commas', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: ,'), 400, 'empty transfer-encoding'));
test('rejects a non-token transfer-coding', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Transfer-Encoding: chun ked'), 400, 'invalid transfer-coding'));
test('rejects duplicate Content-Length even when equal', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 5', 'Content-Length: 5'), 400, 'duplicate content-length'));
test('rejects a Content-Length list', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 5, 5'), 400, 'invalid content-length'));
test('rejects a signed Content-Length (-)', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: -1'), 400, 'invalid content-length'));
test('rejects a signed Content-Length (+)', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: +1'), 400, 'invalid content-length'));
test('rejects a hex Content-Length', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 0x10'), 400, 'invalid content-length'));
test('rejects a fractional Content-Length', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 1.0'), 400, 'invalid content-length'));
test('rejects an empty Content-Length', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: '), 400, 'empty content-length'));
test('rejects a Content-Length above MAX_SAFE_INTEGER', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: 9007199254740992'), 400, 'content-length too large'));
test('rejects a huge Content-Length', () =>
  rejects(msg('POST / HTTP/1.1', 'Host: x', 'Content-Length: ' + '9'.repeat(400)), 400, 'content-length too large'));
test('rejects two Host fields', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: a', 'Host: a'), 400, 'duplicate host'));
test('rejects HTTP/1.1 origin-form without Host', () => rejects(msg('GET / HTTP/1.1'), 400, 'missing host'));
test('rejects HTTP/1.1 asterisk-form without Host', () => rejects(msg('OPTIONS * HTTP/1.1'), 400, 'missing host'));
test('rejects content in CONNECT', () =>
  rejects(msg('CONNECT a:443 HTTP/1.1', 'Content-Length: 5'), 400, 'content in CONNECT request'));
test('rejects chunked CONNECT', () =>
  rejects(msg('CONNECT a:443 HTTP/1.1', 'Transfer-Encoding: chunked'), 400, 'content in CONNECT request'));
test('rejects a non-token Connection option', () =>
  rejects(msg('GET / HTTP/1.1', 'Host: x', 'Connection: a b'), 400, 'invalid connection option'));
