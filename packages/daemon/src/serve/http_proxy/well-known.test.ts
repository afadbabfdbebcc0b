import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead } from '@sluice/protocol';
import { localTarget } from './well-known.js';

const head = (line: string, host?: string) =>
  parseRequestHead(Buffer.from(`${line}\r\n${host !== undefined ? `Host: ${host}\r\n` : ''}\r\n`), { maxHeadBytes: 65536, maxHeaderCount: 100, maxUriLength: 8192 });

describe('well-known URIs on local requests', () => {
  it('maps easy-proxy paths to absolute targets, query and IPv6 included', () => {
    assert.deepEqual(localTarget(head('GET /.well-known/easy-proxy/http/example.com/8080/a/b?c=1 HTTP/1.1', 'p'), []),
      { target: 'http://example.com:8080/a/b?c=1' });
    assert.deepEqual(localTarget(head('GET /.well-known/easy-proxy/https/::1/443 HTTP/1.1', 'p'), []), { target: 'https://[::1]:443/' });
  });

  it('decodes masque/http URIs', () => {
    const enc = encodeURIComponent('http://h.example/x?y=1');
    assert.deepEqual(localTarget(head(`GET /.well-known/masque/http/${enc} HTTP/1.1`, 'p'), []), { target: 'http://h.example/x?y=1' });
    assert.equal((localTarget(head('GET /.well-known/masque/http/ftp%3A%2F%2Fx HTTP/1.1', 'p'), []) as { status: number }).status, 400);
  });

  it('decides what is local from local_server_name', () => {
    // origin-form with names set: only a matching Host is local
    assert.equal(localTarget(head('GET /.well-known/easy-proxy/http/h/80/ HTTP/1.1', 'other'), ['proxy.local']), null);
    assert.ok(localTarget(head('GET /.well-known/easy-proxy/http/h/80/ HTTP/1.1', 'proxy.local:3128'), ['proxy.local']));
    // absolute-form: local only when the URI names the proxy
    assert.equal(localTarget(head('GET http://h/.well-known/easy-proxy/http/h/80/ HTTP/1.1', 'h'), ['proxy.local']), null);
    assert.ok(localTarget(head('GET http://proxy.local/.well-known/easy-proxy/http/h/80/ HTTP/1.1', 'proxy.local'), ['proxy.local']));
    assert.equal(localTarget(head('GET http://h/ HTTP/1.1', 'h'), []), null);
  });

  it('rejects bad or unsupported well-known URIs', () => {
    const st = (line: string) => (localTarget(head(line, 'p'), []) as { status: number }).status;
    assert.equal(st('GET /.well-known/easy-proxy/ftp/h/21/ HTTP/1.1'), 501);
    assert.equal(st('GET /.well-known/easy-proxy/http/h/0/ HTTP/1.1'), 400);
    assert.equal(st('GET /.well-known/easy-proxy/http/h/99999/ HTTP/1.1'), 400);
    assert.equal(st('GET /.well-known/easy-proxy/http/h HTTP/1.1'), 400);
    assert.equal(st('GET /.well-known/other HTTP/1.1'), 400);
    assert.equal(st('GET /index.html HTTP/1.1'), 400);
  });
});
