import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '@sluice/common';
import {
  ChunkedDecoder,
  HeadReader,
  HttpParseError,
  type HeadChunk,
  LengthDecoder,
  parseRequestHead,
  parseResponseHead,
} from './index.js';

interface Message {
  target: string;
  body: string;
}

/**
 * Drives the codec the way the proxy server does: head reader, parser, body decoder, and the rest bytes of each
 * stage fed to the next. Returns each request's target and body.
 */
function readPipeline(parts: Buffer[]): Message[] {
  const reader = new HeadReader();
  const chunked = new ChunkedDecoder();
  const length = new LengthDecoder(0);
  const out: Message[] = [];
  let body: Decoder | null = null;
  let current: Message | null = null;
  type Decoder = ChunkedDecoder | LengthDecoder;
  const onData = (d: Buffer): void => {
    current!.body += d.toString('latin1');
  };
  const queue = [...parts];
  let guard = 0;
  while (queue.length > 0) {
    if (++guard > 10000) assert.fail('pipeline loop did not terminate');
    const chunk = queue.shift()!;
    if (body === null) {
      const r = reader.push(chunk);
      if (r === null) continue;
      const h = parseRequestHead(r.head);
      current = { target: h.target, body: '' };
      out.push(current);
      reader.reset();
      if (h.bodyKind === 'chunked') {
        chunked.reset();
        body = chunked;
      } else if (h.bodyKind === 'length') {
        length.reset(h.contentLength);
        body = length;
      }
      if (r.rest !== null) queue.unshift(r.rest);
    } else {
      const end = body.push(chunk, onData);
      if (end === -1) continue;
      body = null;
      if (end < chunk.length) queue.unshift(chunk.subarray(end));
    }
  }
  assert.equal(body, null, 'stream ended inside a body');
  assert.equal(reader.bufferedBytes, 0, 'stream ended inside a head');
  return out;
}

const STREAM =
  'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' +
  'POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
  '\r\n' + // a stray CRLF after a body, tolerated before the next request line
  'POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n' +
  'GET /4 HTTP/1.1\r\nHost: a\r\n\r\n';
const EXPECTED: Message[] = [
  { target: '/1', body: '' },
  { target: '/2', body: 'hello' },
  { target: '/3', body: 'abcde' },
  { target: '/4', body: '' },
];

test('pipelined requests in one chunk', () => {
  assert.deepEqual(readPipeline([Buffer.from(STREAM, 'latin1')]), EXPECTED);
});

test('pipelined requests one byte at a time', () => {
  const all = Buffer.from(STREAM, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < all.length; i++) parts.push(all.subarray(i, i + 1));
  assert.deepEqual(readPipeline(parts), EXPECTED);
});

test('pipelined requests at every two-way split', () => {
  const all = Buffer.from(STREAM, 'latin1');
  for (let cut = 0; cut <= all.length; cut++) {
    assert.deepEqual(readPipeline([all.subarray(0, cut), all.subarray(cut)]), EXPECTED, `cut ${cut}`);
  }
});

test('a smuggling attempt (CL + TE) stops the pipeline at the bad request', () => {
  const text =
    'GET /ok HTTP/1.1\r\nHost: a\r\n\r\n' +
    'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n';
  assert.throws(
    () => readPipeline([Buffer.from(text, 'latin1')]),
    (e: unknown) => e instanceof HttpParseError && e.detail === 'content-length with transfer-encoding',
  );
});

test('response after response on one upstream connection', () => {
  const text =
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi' +
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n' +
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n';
  const reader = new HeadReader(undefined, 'response');
  let chunk: Buffer | null = Buffer.from(text, 'latin1');
  const bodies: string[] = [];
  for (let n = 0; chunk !== null && n < 10; n++) {
    const r: HeadChunk = reader.push(chunk)!;
    reader.reset();
    const h = parseResponseHead(r.head, 'GET');
    let body = '';
    chunk = r.rest;
    if (h.bodyKind === 'length' || h.bodyKind === 'chunked') {
      const d = h.bodyKind === 'length' ? new LengthDecoder(h.contentLength) : new ChunkedDecoder({ peer: 'response' });
      const end: number = d.push(chunk!, (v) => (body += v.toString()));
      assert.notEqual(end, -1);
      chunk = end < chunk!.length ? chunk!.subarray(end) : null;
    }
    bodies.push(`${h.status}:${body}`);
  }
  assert.deepEqual(bodies, ['200:hi', '200:yo', '304:']);
});

test('HttpParseError is a SluiceError with a code per status', () => {
  const cases: [number, string][] = [
    [400, 'CLIENT_PROTOCOL_INVALID'],
    [414, 'CLIENT_URI_TOO_LONG'],
    [431, 'CLIENT_HEAD_TOO_LARGE'],
    [501, 'CLIENT_PROTOCOL_UNIMPLEMENTED'],
    [505, 'CLIENT_PROTOCOL_UNIMPLEMENTED'],
    [502, 'UPSTREAM_PROTOCOL_INVALID'],
  ];
  for (const [status, code] of cases) {
    const e = new HttpParseError(status, 'x');
    assert.ok(e instanceof SluiceError);
    assert.equal(e.code, code);
    assert.equal(e.status, status);
    assert.equal(e.message, 'x');
    assert.equal(e.name, 'HttpParseError');
  }
});
