/**
 * http_rproxy end to end: routing by Host (exact and child matches) to two real origins, the default site,
 * an unknown or missing Host (400, as g3), Via loop detection (508), X-Forwarded-For / Forwarded and Via seen by
 * the origin, server_id, TLS termination with a certificate chosen by SNI (two sites, one global fallback),
 * TLS to an https upstream checked against tls_name, keep-alive on both sides, and large bodies both ways.
 */
import { createHash } from 'node:crypto';
import { Agent, request, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseConfig,
  defaultRoutes, makePki, pattern, rawExchange, removePki, startDaemon, startOrigin,
  type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function named(name: string) {
  return startOrigin((req, res) => {
    if (req.url === '/who') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
      res.end(name);
      return;
    }
    defaultRoutes(req, res);
  });
}

function get(port: number, host: string, path: string, opts: { method?: string; body?: Buffer; agent?: Agent; headers?: Record<string, string> } = {}): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: opts.agent ?? false, headers: { host, ...(opts.headers ?? {}) }, timeout: 20_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('http_rproxy', () => {
  let d: DaemonHandle;
  let a: Origin;
  let b: Origin;
  let secure: { port: number; close(): Promise<void> };
  let pkiA: TestPki;
  let pkiB: TestPki;
  let pkiG: TestPki;
  let pkiS: TestPki;
  let gw: number;
  let gwd: number;
  let gws: number;

  before(async () => {
    a = await named('origin-a');
    b = await named('origin-b');
    pkiA = makePki(['a.test'], []);
    pkiB = makePki(['b.test'], []);
    pkiG = makePki(['global.test'], ['127.0.0.1']);
    pkiS = makePki(['origin.test'], []);
    const https = createHttpsServer({ key: pkiS.key, cert: pkiS.cert }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-length': 12 });
      res.end('secure-hello');
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    secure = { port: (https.address() as AddressInfo).port, close: () => new Promise((r) => https.close(() => r())) };
    const yaml = `
${baseConfig()}server:
  - name: gw
    type: http_gateway
    listen: 127.0.0.1:0
    escaper: direct
    sites:
      - exact_match: a.test
        upstream: 127.0.0.1:${a.port}
      - child_match: b.test
        upstream: 127.0.0.1:${b.port}
      - exact_match: [secure.test, 10.9.9.9]
        upstream: 127.0.0.1:${secure.port}
        tls_client:
          ca_certificate: ${pkiS.files.caCert}
        tls_name: origin.test
  - name: gwd
    type: http_reverse_proxy
    listen: 127.0.0.1:0
    escaper: direct
    server_id: gw1
    append_forwarded_for: standard
    hosts:
      upstream: 127.0.0.1:${a.port}
  - name: gws
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    enable_tls_server: true
    client_hello_recv_timeout: 2s
    global_tls_server:
      certificate: ${pkiG.files.cert}
      private_key: ${pkiG.files.key}
    hosts:
      - exact_match: a.test
        upstream: 127.0.0.1:${a.port}
        tls_server:
          cert_pairs:
            certificate: ${pkiA.files.cert}
            private-key: ${pkiA.files.key}
      - exact_match: b.test
        set_default: true
        upstream: 127.0.0.1:${b.port}
        tls_server:
          certificate: ${pkiB.files.cert}
          private_key: ${pkiB.files.key}
`;
    d = await startDaemon({ files: { 'main.yaml': yaml } });
    gw = await d.port('gw');
    gwd = await d.port('gwd');
    gws = await d.port('gws');
  });
  after(async () => {
    await d?.stop();
    await a?.close();
    await b?.close();
    await secure?.close();
    for (const p of [pkiA, pkiB, pkiG, pkiS]) if (p) removePki(p);
  });

  it('routes by Host: exact match and child match go to different origins', async () => {
    const ra = await get(gw, 'a.test', '/who');
    assert.equal(ra.res.statusCode, 200);
    assert.equal(ra.body.toString(), 'origin-a');
    const rb = await get(gw, 'www.b.test:80', '/who');
    assert.equal(rb.body.toString(), 'origin-b');
    // a child match does not cover the parent or a look-alike
    assert.equal((await get(gw, 'xb.test', '/who')).res.statusCode, 400);
    const log = await d.waitForLog((l) => l.fields.server_name === 'gw' && l.fields.uri === '/who' && l.fields.upstream === `127.0.0.1:${b.port}`);
    assert.equal(log.fields.server_type, 'HttpRProxy');
    assert.equal(log.fields.task_type, 'HttpForward');
    assert.equal(log.fields.rsp_status, '200');
  });

  it('passes the client Host on and adds X-Forwarded-For and Via', async () => {
    const r = await get(gw, 'a.test', '/headers', { headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-drop', 'x-drop': '1' } });
    const h = JSON.parse(r.body.toString()) as Record<string, string>;
    assert.equal(h.host, 'a.test');
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h.via, 'HTTP/1.1 a.test');
    assert.equal(h['x-drop'], undefined);
  });

  it('answers 400 for an unknown or missing Host and 508 for a loop', async () => {
    assert.equal((await get(gw, 'nowhere.test', '/')).res.statusCode, 400);
    const raw = await rawExchange(gw, 'GET / HTTP/1.0\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400 /);
    const loop = await get(gw, 'a.test', '/', { headers: { via: '1.1 other, HTTP/1.1 a.test' } });
    assert.equal(loop.res.statusCode, 508);
    assert.equal(a.seen.filter((s) => s.headers.via?.includes('other')).length, 0);
    const ok = await get(gw, 'a.test', '/who');
    assert.equal(ok.res.statusCode, 200);
  });

  it('refuses ambiguous framing and never forwards the smuggled request', async () => {
    const raw = await rawExchange(gw, 'POST /who HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'
      + '0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.equal(a.seen.some((x) => x.url === '/smuggled'), false);
    const log = await d.waitForLog((l) => l.fields.server_name === 'gw' && l.fields.rsp_status === '400' && l.fields.method === 'POST');
    assert.equal(log.fields.reason, 'InvalidClientProtocol');
  });

  it('serves the default site, with Forwarded (standard) and server_id', async () => {
    const r = await get(gwd, 'anything.example', '/headers');
    assert.equal(r.res.statusCode, 200);
    const h = JSON.parse(r.body.toString()) as Record<string, string>;
    assert.match(h.forwarded!, new RegExp(`^for=127\\.0\\.0\\.1:\\d+; by=127\\.0\\.0\\.1:${gwd}$`));
    assert.equal(h['x-forwarded-for'], undefined);
    assert.equal(h.via, 'HTTP/1.1 gw1');
    assert.match(String(r.res.headers['x-bd-remote-connection-info']), new RegExp(`^gw1; local=127\\.0\\.0\\.1:\\d+; remote=127\\.0\\.0\\.1:${a.port}$`));
    const loop = await get(gwd, 'x', '/', { headers: { via: 'HTTP/1.1 gw1' } });
    assert.equal(loop.res.statusCode, 508);
  });

  it('speaks TLS to an https upstream, verified against tls_name', async () => {
    const r = await get(gw, 'secure.test', '/');
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.body.toString(), 'secure-hello');
    const byIp = await get(gw, '10.9.9.9', '/');
    assert.equal(byIp.body.toString(), 'secure-hello');
  });

  it('terminates TLS with the certificate of the SNI-matched site, else the global one', async () => {
    const peer = (servername: string | undefined, ca: string) => new Promise<PeerCertificate>((resolve, reject) => {
      // without SNI the name check has nothing to match: the CN assertion below is the check
      const s = tlsConnect({ host: '127.0.0.1', port: gws, servername, ca, checkServerIdentity: () => undefined }, () => {
        const c = s.getPeerCertificate();
        s.end();
        resolve(c);
      });
      s.on('error', reject);
    });
    assert.equal((await peer('a.test', pkiA.caCert)).subject.CN, 'a.test');
    assert.equal((await peer('b.test', pkiB.caCert)).subject.CN, 'b.test');
    // no SNI (an IP literal): the default site's certificate
    assert.equal((await peer(undefined, pkiB.caCert)).subject.CN, 'b.test');
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: gws, servername: 'a.test', ca: pkiA.caCert, path: '/who', headers: { host: 'a.test' }, agent: false }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, 'origin-a');
  });

  it('keeps client and upstream connections alive across requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = a.connections;
      for (let i = 0; i < 3; i++) assert.equal((await get(gw, 'a.test', '/who', { agent })).body.toString(), 'origin-a');
      assert.equal(a.connections - before, 1);
      // log lines are written after each response: wait (bounded) until both reused requests are logged
      const reused = () => d.taskLogs().filter((l) => l.fields.server_name === 'gw' && l.fields.uri === '/who' && l.fields.reuse_connection === 'true');
      await d.waitForLog(() => reused().length >= 2);
    } finally {
      agent.destroy();
    }
  });

  it('streams large bodies both ways intact', async () => {
    const big = pattern(5 * 1024 * 1024 + 3);
    const up = await get(gw, 'a.test', '/echo', { method: 'POST', body: big });
    assert.equal(up.res.statusCode, 200);
    assert.equal(sha(up.body), sha(big));
    const down = await get(gw, 'a.test', `/chunked?n=${3 * 1024 * 1024}`);
    assert.equal(down.res.headers['transfer-encoding'], 'chunked');
    assert.equal(sha(down.body), sha(pattern(3 * 1024 * 1024)));
  });
});
