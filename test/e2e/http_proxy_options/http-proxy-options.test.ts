/**
 * http_proxy options end to end: an HTTPS proxy (curl --proxy https:// --proxy-cacert; node tls with a client
 * certificate for mTLS), https forward with tls_client, g3's custom headers (server_id, mark upstream, echo
 * chained info), steal_forwarded_for, well-known URIs, tcp_sock_speed_limit, max_client_connections and
 * no_early_error_reply.
 */
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseConfig,
  curl, makePki, readUntil, removePki, startDaemon, startOrigin, startTlsOrigin, tcpConnect,
  type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

function yaml(pki: TestPki): string {
  return `
${baseConfig()}server:
  - name: https
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server:
      certificate: ${pki.files.cert}
      private_key: ${pki.files.key}
  - name: mtls
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_server:
      certificate: ${pki.files.cert}
      private_key: ${pki.files.key}
      enable_client_auth: true
      ca_certificate: ${pki.files.caCert}
  - name: opts
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    server_id: sluice-test-1
    http_forward_mark_upstream: true
    echo_chained_info: true
    steal_forwarded_for: true
    local_server_name: proxy.local
    pipeline_size: 2
    tls_client:
      ca_certificate: ${pki.files.caCert}
  - name: slow
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tcp_sock_speed_limit:
      shift_millis: 7
      upload: 1048576
      download: 12800
  - name: small
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    max_client_connections: 2
    no_early_error_reply: true
    req_header_recv_timeout: 1s
`;
}

const get = (url: string, extra = '') => `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${extra}Connection: close\r\n\r\n`;

async function exchange(port: number, data: string, timeoutMs = 5000): Promise<string> {
  const s = await tcpConnect(port);
  s.on('error', () => {});
  s.write(data);
  const out = await readUntil(s, () => false, timeoutMs);
  s.destroy();
  return out.toString('latin1');
}

const o = (origin: Origin) => `127.0.0.1:${origin.port}`;

function headerOf(res: string, name: string): string[] {
  const head = res.split('\r\n\r\n')[0]!;
  return head.split('\r\n').filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(name.length + 1).trim());
}

describe('http_proxy options', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let pki: TestPki;

  before(async () => {
    pki = makePki(['localhost']);
    origin = await startOrigin();
    d = await startDaemon({ files: { 'main.yaml': yaml(pki) } });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    if (pki) removePki(pki);
  });

  it('tls_server: an HTTPS proxy for curl --proxy https:// --proxy-cacert (forward and CONNECT)', async () => {
    const port = await d.port('https');
    const r = await curl(['--proxy', `https://localhost:${port}`, '--proxy-cacert', pki.files.caCert, `${origin.url}/via-https-proxy`]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(r.body, 'hello');
    const tlsOrigin = await startTlsOrigin(pki);
    try {
      const t = await curl(['-p', '--proxy', `https://localhost:${port}`, '--proxy-cacert', pki.files.caCert, '--cacert', pki.files.caCert,
        `https://127.0.0.1:${tlsOrigin.port}/`]);
      assert.equal(t.status, 200, t.stderr);
      assert.equal(t.body, 'tls-hello');
    } finally {
      await tlsOrigin.close();
    }
  });

  it('tls_server with client auth: a client certificate is required', async () => {
    const port = await d.port('mtls');
    const run = (withCert: boolean) => new Promise<string>((resolve, reject) => {
      const t = tlsConnect({ host: '127.0.0.1', port, ca: pki.caCert, servername: 'localhost', ...(withCert ? { cert: pki.cert, key: pki.key } : {}) });
      let out = '';
      const timer = setTimeout(() => { t.destroy(); reject(new Error('timeout')); }, 5000);
      t.on('secureConnect', () => t.write(get(`${origin.url}/mtls-${withCert}`)));
      t.on('data', (b: Buffer) => (out += b.toString('latin1')));
      t.on('error', () => {});
      t.on('close', () => { clearTimeout(timer); resolve(out); });
    });
    assert.match(await run(true), /^HTTP\/1\.1 200/);
    assert.equal(await run(false), '');
    assert.ok(!origin.seen.some((s) => s.url === '/mtls-false'));
    assert.match(await run(true), /^HTTP\/1\.1 200/, 'still serving');
  });

  it('https forward with tls_client, and server_id / mark upstream / echo chained info headers', async () => {
    const port = await d.port('opts');
    const tlsOrigin = await startTlsOrigin(pki);
    try {
      const res = await exchange(port, get(`https://127.0.0.1:${tlsOrigin.port}/`));
      assert.match(res, /^HTTP\/1\.1 200/);
      assert.ok(res.endsWith('tls-hello'));
      const log = await d.waitForLog((l) => l.fields.uri === `https://127.0.0.1:${tlsOrigin.port}/`);
      assert.equal(log.fields.rsp_status, '200');
      assert.deepEqual(headerOf(res, 'X-BD-Upstream-Id'), ['sluice-test-1']);
      assert.deepEqual(headerOf(res, 'X-BD-Upstream-Addr'), [`127.0.0.1:${tlsOrigin.port}`]);
      assert.deepEqual(headerOf(res, 'X-BD-Outgoing-IP'), ['127.0.0.1']);
      const info = headerOf(res, 'X-BD-Remote-Connection-Info');
      assert.equal(info.length, 1);
      assert.match(info[0]!, new RegExp(`^sluice-test-1; local=127\\.0\\.0\\.1:\\d+; remote=127\\.0\\.0\\.1:${tlsOrigin.port}$`));
    } finally {
      await tlsOrigin.close();
    }
  });

  it('CONNECT replies carry X-BD-Remote-Connection-Info when server_id is set', async () => {
    const port = await d.port('opts');
    const s = await tcpConnect(port);
    s.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const head = (await readUntil(s, (b) => b.includes('\r\n\r\n'))).toString('latin1');
    s.destroy();
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.match(headerOf(head, 'X-BD-Remote-Connection-Info')[0] ?? '', /^sluice-test-1; local=.*; remote=127\.0\.0\.1:/);
  });

  it('keeps chained-final headers an upstream proxy already set', async () => {
    const chained = await startOrigin((_req, res) => {
      res.writeHead(200, { 'x-bd-upstream-id': 'far-proxy', 'content-length': 2 });
      res.end('ok');
    });
    try {
      const res = await exchange(await d.port('opts'), get(`${chained.url}/`));
      assert.deepEqual(headerOf(res, 'X-BD-Upstream-Id'), ['far-proxy']);
    } finally {
      await chained.close();
    }
  });

  it('steal_forwarded_for removes Forwarded and X-Forwarded-For', async () => {
    const res = await exchange(await d.port('opts'), get(`${origin.url}/headers`, 'X-Forwarded-For: 10.9.8.7\r\nForwarded: for=10.9.8.7\r\nX-Keep: 1\r\n'));
    const body = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
    assert.equal(body['x-forwarded-for'], undefined);
    assert.equal(body.forwarded, undefined);
    assert.equal(body['x-keep'], '1');
  });

  it('well-known URIs: easy-proxy and masque/http on a local request', async () => {
    const port = await d.port('opts');
    const easy = await exchange(port, `GET /.well-known/easy-proxy/http/127.0.0.1/${origin.port}/easy/path?q=1 HTTP/1.1\r\nHost: proxy.local\r\nConnection: close\r\n\r\n`);
    assert.match(easy, /^HTTP\/1\.1 200/);
    assert.ok(origin.seen.some((s) => s.url === '/easy/path?q=1'));
    const enc = encodeURIComponent(`${origin.url}/masque?x=2`);
    const masque = await exchange(port, `GET http://proxy.local/.well-known/masque/http/${enc} HTTP/1.1\r\nHost: proxy.local\r\nConnection: close\r\n\r\n`);
    assert.match(masque, /^HTTP\/1\.1 200/);
    assert.ok(origin.seen.some((s) => s.url === '/masque?x=2'));
    const bad = await exchange(port, 'GET /.well-known/easy-proxy/gopher/h/70/ HTTP/1.1\r\nHost: proxy.local\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400/);
    const other = await exchange(port, `GET /.well-known/easy-proxy/http/127.0.0.1/${origin.port}/x HTTP/1.1\r\nHost: not-local\r\n\r\n`);
    assert.match(other, /^HTTP\/1\.1 400/, 'origin-form to a non-local host is not a proxy request');
  });

  it('pipelining: a burst deeper than pipeline_size is answered completely and in order', async () => {
    const port = await d.port('opts');
    const s = await tcpConnect(port);
    let burst = '';
    for (let i = 0; i < 30; i++) burst += `GET ${origin.url}/pipe?i=${i} HTTP/1.1\r\nHost: ${o(origin)}\r\n${i === 29 ? 'Connection: close\r\n' : ''}\r\n`;
    s.write(burst);
    const out = (await readUntil(s, () => false, 8000)).toString('latin1');
    s.destroy();
    assert.equal(out.split('HTTP/1.1 200 ').length - 1, 30);
    const urls = origin.seen.filter((x) => x.url.startsWith('/pipe?')).map((x) => x.url);
    assert.deepEqual(urls, Array.from({ length: 30 }, (_, i) => `/pipe?i=${i}`));
  });

  it('Expect: 100-continue is passed to the origin and its 100 Continue back to the client', async () => {
    const port = await d.port('opts');
    const body = 'x'.repeat(100_000);
    const r = await curl(['-v', '-x', `http://127.0.0.1:${port}`, '-H', 'Expect: 100-continue', '--data-binary', body, `${origin.url}/echo`]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(r.body.length, body.length);
    assert.match(r.stderr, /< HTTP\/1\.1 100 Continue/);
    const seen = origin.seen.find((x) => x.url === '/echo' && x.headers.expect !== undefined);
    assert.equal(seen?.headers.expect, '100-continue');
  });

  it('tcp_sock_speed_limit slows a download to the configured rate (100 KiB/s)', async () => {
    const port = await d.port('slow');
    const t0 = Date.now();
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/bytes?n=262144`], 20_000);
    const secs = (Date.now() - t0) / 1000;
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 262144);
    // 256 KiB at 100 KiB/s with a 12.5 KiB burst: about 2.4 s
    assert.ok(secs > 1.8 && secs < 8, `took ${secs}s`);
  });

  it('max_client_connections: one more gets 503 and a task log, then the server serves again', async () => {
    const port = await d.port('small');
    const a = await tcpConnect(port);
    const b = await tcpConnect(port);
    await new Promise((r) => setTimeout(r, 100));
    const res = await exchange(port, get(`${origin.url}/busy`));
    assert.match(res, /^HTTP\/1\.1 503/);
    const log = await d.waitForLog((l) => l.fields.server_name === 'small' && l.fields.reason === 'InternalServerError');
    assert.equal(log.fields.rsp_status, '503');
    a.destroy();
    b.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await exchange(port, get(`${origin.url}/after-busy`)), /^HTTP\/1\.1 200/);
  });

  it('no_early_error_reply: a bad first request or a silent client is closed without a reply', async () => {
    const port = await d.port('small');
    assert.equal(await exchange(port, 'NONSENSE\r\n\r\n'), '');
    const t0 = Date.now();
    assert.equal(await exchange(port, 'GET http://x/ HTTP/1.1\r\n'), '');
    assert.ok(Date.now() - t0 < 4000);
    await d.waitForLog((l) => l.fields.server_name === 'small' && l.fields.reason === 'ClientAppTimeout');
    assert.match(await exchange(port, get(`${origin.url}/after-quiet`)), /^HTTP\/1\.1 200/);
  });
});
