import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseResponseHead } from '@sluice/protocol';
import { finalResponseHead, interimResponseHead } from './response-head.js';

const rsp = (text: string) => parseResponseHead(Buffer.from(text, 'latin1'), 'GET');

test('relayed response heads drop hop-by-hop fields and those Connection names', () => {
  const r = rsp('HTTP/1.0 200 Fine\r\nConnection: x-drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: timeout=5\r\nX-Keep: 2\r\nContent-Length: 3\r\n\r\n');
  assert.equal(
    finalResponseHead(r, 'X-Extra: e\r\n', false, true, false).toString('latin1'),
    'HTTP/1.1 200 Fine\r\nX-Keep: 2\r\nContent-Length: 3\r\nX-Extra: e\r\n\r\n',
  );
});

test('final heads say how the body is framed and whether the connection stays', () => {
  const r = rsp('HTTP/1.1 404 \r\nServer: o\r\n\r\n');
  assert.equal(finalResponseHead(r, '', true, false, false).toString('latin1'),
    'HTTP/1.1 404 Not Found\r\nServer: o\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
  assert.equal(finalResponseHead(r, '', false, true, true).toString('latin1'),
    'HTTP/1.1 404 Not Found\r\nServer: o\r\nConnection: keep-alive\r\n\r\n', 'an HTTP/1.0 client is told keep-alive');
});

test('interim heads carry their fields only', () => {
  assert.equal(interimResponseHead(rsp('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n')).toString('latin1'),
    'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n');
});
