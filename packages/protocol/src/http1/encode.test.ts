import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHUNK_CRLF,
  ChunkedDecoder,
  HOP_BY_HOP,
  LAST_CHUNK,
  STATUS_TEXT,
  encodeChunkHeader,
  isHopByHop,
  parseRequestHead,
  parseResponseHead,
  serializeLastChunk,
  serializeRequestHead,
  serializeResponseHead,
} from './index.js';

test('chunk headers in hex with CRLF', () => {
  assert.equal(encodeChunkHeader(1).toString('latin1'), '1\r\n');
  assert.equal(encodeChunkHeader(255).toString('latin1'), 'ff\r\n');
  assert.equal(encodeChunkHeader(65536).toString('latin1'), '10000\r\n');
  assert.equal(encodeChunkHeader(2 ** 40).toString('latin1'), '10000000000\r\n');
});

test('small chunk headers are cached', () => {
  assert.equal(encodeChunkHeader(1000), encodeChunkHeader(1000));
});

test('a zero, negative or fractional chunk size is refused', () => {
  assert.throws(() => encodeChunkHeader(0), RangeError);
  assert.throws(() => encodeChunkHeader(-1), RangeError);
  assert.throws(() => encodeChunkHeader(1.5), RangeError);
  assert.throws(() => encodeChunkHeader(Number.NaN), RangeError);
});

test('CHUNK_CRLF and LAST_CHUNK', () => {
  assert.equal(CHUNK_CRLF.toString('latin1'), '\r\n');
  assert.equal(LAST_CHUNK.toString('latin1'), '0\r\n\r\n');
});

test('an encoded body decodes back', () => {
  const parts = [Buffer.from('hello'), Buffer.from(' world')];
  const wire = Buffer.concat([
    ...parts.flatMap((p) => [encodeChunkHeader(p.length), p, CHUNK_CRLF]),
    serializeLastChunk([['X-Sum', '42']]),
  ]);
  const d = new ChunkedDecoder();
  let data = '';
  assert.equal(
    d.push(wire, (v) => (data += v.toString())),
    wire.length,
  );
  assert.equal(data, 'hello world');
  assert.deepEqual(d.trailers, [{ name: 'X-Sum', lname: 'x-sum', value: '42' }]);
  assert.equal(serializeLastChunk([]).toString('latin1'), '0\r\n\r\n');
});

test('serializeRequestHead', () => {
  const head = serializeRequestHead('GET', '/a?b=1', [
    ['Host', 'example.com'],
    ['X-Empty', ''],
  ]);
  assert.equal(head.toString('latin1'), 'GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-Empty: \r\n\r\n');
  const parsed = parseRequestHead(head);
  assert.equal(parsed.host, 'example.com');
  assert.equal(parsed.headers[1]!.value, '');
});

test('serializeRequestHead keeps obs-text bytes as latin1', () => {
  const head = serializeRequestHead('GET', '/', [['X', 'caf\xe9']]);
  assert.equal(head[head.length - 5], 0xe9);
});

test('serializeRequestHead accepts any iterable of pairs', () => {
  const m = new Map([['Host', 'h']]);
  assert.equal(serializeRequestHead('GET', '/', m).toString('latin1'), 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
});

test('serialize refuses header injection', () => {
  assert.throws(() => serializeRequestHead('GET', '/', [['X', 'a\r\nInjected: 1']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['X', 'a\nb']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['X', 'a\x00']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['X Y', '1']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['X:', '1']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['', '1']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/', [['X', 'snow\u2603man']]), TypeError);
  assert.throws(() => serializeRequestHead('GET', '/a b', []), TypeError);
  assert.throws(() => serializeRequestHead('GET', '', []), TypeError);
  assert.throws(() => serializeRequestHead('G T', '/', []), TypeError);
  assert.throws(() => serializeResponseHead(1, 200, 'OK\r\nX: 1', []), TypeError);
  assert.throws(() => serializeResponseHead(1, 99, 'Low', []), TypeError);
});

test('serializeResponseHead', () => {
  const head = serializeResponseHead(1, 407, STATUS_TEXT[407]!, [
    ['Proxy-Authenticate', 'Basic realm="proxy"'],
    ['Content-Length', '0'],
  ]);
  assert.equal(
    head.toString('latin1'),
    'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n',
  );
  const parsed = parseResponseHead(head, 'GET');
  assert.equal(parsed.status, 407);
  assert.equal(parsed.bodyKind, 'none');
  assert.equal(serializeResponseHead(0, 200, '', []).toString('latin1'), 'HTTP/1.0 200 \r\n\r\n');
});

test('STATUS_TEXT has the standard and g3 custom codes', () => {
  assert.equal(STATUS_TEXT[200], 'OK');
  assert.equal(STATUS_TEXT[407], 'Proxy Authentication Required');
  assert.equal(STATUS_TEXT[414], 'URI Too Long');
  assert.equal(STATUS_TEXT[417], 'Expectation Failed');
  assert.equal(STATUS_TEXT[431], 'Request Header Fields Too Large');
  assert.equal(STATUS_TEXT[505], 'HTTP Version Not Supported');
  assert.equal(STATUS_TEXT[521], 'Web Server Is Down');
  assert.equal(STATUS_TEXT[522], 'Connection Timed Out');
  assert.equal(STATUS_TEXT[523], 'Origin Is Unreachable');
  assert.equal(STATUS_TEXT[525], 'SSL Handshake Failed');
  assert.equal(STATUS_TEXT[530], 'Origin DNS Error');
});

test('hop-by-hop fields', () => {
  for (const name of [
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
  ]) {
    assert.ok(HOP_BY_HOP.has(name), name);
    assert.ok(isHopByHop(name, []), name);
  }
  assert.equal(HOP_BY_HOP.size, 9);
  assert.equal(isHopByHop('host', []), false);
  assert.equal(isHopByHop('x-session', ['x-session']), true);
  assert.equal(isHopByHop('x-session', ['close']), false);
});
