/**
 * Ports in front of an http_proxy: plain_tcp_port with PROXY protocol v1 and v2 (the task log shows the client
 * the header names), plain_tls_port / native_tls_port with mTLS, intelli_proxy sending HTTP to the http_proxy
 * and a SOCKS greeting to the SOCKS-side server (a dummy_close here), and dummy_close itself.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeProxyV1, encodeProxyV2 } from '@sluice/protocol';
import {
  baseConfig,
  makePki, readUntil, removePki, startDaemon, startOrigin, tcpConnect, type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

function yaml(pki: TestPki): string {
  return `
${baseConfig()}server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: pp1
    type: plain_tcp_port
    listen: 127.0.0.1:0
    server: http
    proxy_protocol: 1
    proxy_protocol_read_timeout: 1s
  - name: pp2
    type: plain_tcp_port
    listen: 127.0.0.1:0
    server: http
    proxy_protocol: 2
  - name: tlsport
    type: plain_tls_port
    listen: 127.0.0.1:0
    server: http
    tls_server:
      certificate: ${pki.files.cert}
      private_key: ${pki.files.key}
      enable_client_auth: true
      ca_certificate: ${pki.files.caCert}
  - name: nativetls
    type: native_tls_port
    listen: 127.0.0.1:0
    server: http
    proxy_protocol: 2
    tls_server:
      certificate: ${pki.files.cert}
      private_key: ${pki.files.key}
  - name: intelli
    type: intelli_proxy
    listen: 127.0.0.1:0
    http_server: http
    socks_server: sink
    protocol_detection_timeout: 1s
  - name: sink
    type: dummy_close
  - name: closer
    type: dummy_close
    listen: 127.0.0.1:0
`;
}

const get = (url: string) => `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: close\r\n\r\n`;

async function exchange(port: number, ...parts: Array<string | Buffer>): Promise<string> {
  const s = await tcpConnect(port);
  s.on('error', () => {});
  for (const p of parts) s.write(p);
  const out = await readUntil(s, () => false, 5000);
  s.destroy();
  return out.toString('latin1');
}

function tlsExchange(port: number, opts: { pki: TestPki; clientCert: boolean; prefix?: Buffer }, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    void tcpConnect(port).then((raw) => {
      if (opts.prefix) raw.write(opts.prefix);
      const t: TLSSocket = tlsConnect({
        socket: raw, ca: opts.pki.caCert, servername: 'localhost',
        ...(opts.clientCert ? { cert: opts.pki.cert, key: opts.pki.key } : {}),
      });
      let out = '';
      const timer = setTimeout(() => { t.destroy(); reject(new Error(`timeout: ${out}`)); }, 5000);
      t.on('secureConnect', () => t.write(data));
      t.on('data', (d: Buffer) => (out += d.toString('latin1')));
      t.on('error', (e) => { clearTimeout(timer); reject(e); });
      t.on('close', () => { clearTimeout(timer); resolve(out); });
    }, reject);
  });
}

describe('alias ports', () => {
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

  it('plain_tcp_port with PROXY v1 hands the request to the http_proxy with the stated client address', async () => {
    const port = await d.port('pp1');
    const pp = encodeProxyV1({ source: { ip: '192.0.2.7', port: 40001 }, destination: { ip: '198.51.100.9', port: 3128 } });
    const out = await exchange(port, Buffer.concat([pp, Buffer.from(get(`${origin.url}/pp1`))]));
    assert.match(out, /^HTTP\/1\.1 200/);
    assert.ok(out.endsWith('hello'));
    const log = await d.waitForLog((l) => l.fields.uri === `${origin.url}/pp1`);
    assert.equal(log.fields.client_addr, '192.0.2.7:40001');
    assert.equal(log.fields.server_addr, '198.51.100.9:3128');
    assert.equal(log.fields.server_name, 'http');
  });

  it('plain_tcp_port with PROXY v2 (header split from the request, TLVs) works the same', async () => {
    const port = await d.port('pp2');
    const pp = encodeProxyV2({ source: { ip: '2001:db8::5', port: 5555 }, destination: { ip: '2001:db8::1', port: 8080 } },
      [{ type: 0x02, value: Buffer.from('proxy.example') }], true);
    const out = await exchange(port, pp.subarray(0, 10), pp.subarray(10), get(`${origin.url}/pp2`));
    assert.match(out, /^HTTP\/1\.1 200/);
    const log = await d.waitForLog((l) => l.fields.uri === `${origin.url}/pp2`);
    assert.equal(log.fields.client_addr, '[2001:db8::5]:5555');
  });

  it('a port expecting PROXY protocol closes a connection without a header, and keeps serving', async () => {
    const port = await d.port('pp1');
    const out = await exchange(port, get(`${origin.url}/no-header`));
    assert.equal(out, '');
    const silent = await tcpConnect(port);
    const t0 = Date.now();
    await readUntil(silent, () => false, 4000); // closed after proxy_protocol_read_timeout (1s)
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(!origin.seen.some((r) => r.url === '/no-header'));
    const ok = await exchange(port, encodeProxyV1(null), get(`${origin.url}/after-bad`));
    assert.match(ok, /^HTTP\/1\.1 200/);
  });

  it('plain_tls_port requires a client certificate (mTLS) and serves the proxy over TLS', async () => {
    const port = await d.port('tlsport');
    const out = await tlsExchange(port, { pki, clientCert: true }, get(`${origin.url}/mtls`));
    assert.match(out, /^HTTP\/1\.1 200/);
    const log = await d.waitForLog((l) => l.fields.uri === `${origin.url}/mtls`);
    assert.equal(log.fields.server_name, 'http');
    await assert.rejects(tlsExchange(port, { pki, clientCert: false }, get(`${origin.url}/no-cert`)).then((o) => {
      if (!o.startsWith('HTTP/1.1 200')) throw new Error('refused');
      return o;
    }));
    assert.ok(!origin.seen.some((r) => r.url === '/no-cert'));
  });

  it('native_tls_port reads PROXY v2 before TLS', async () => {
    const port = await d.port('nativetls');
    const pp = encodeProxyV2({ source: { ip: '203.0.113.3', port: 1234 }, destination: { ip: '203.0.113.4', port: 443 } });
    const out = await tlsExchange(port, { pki, clientCert: false, prefix: pp }, get(`${origin.url}/native`));
    assert.match(out, /^HTTP\/1\.1 200/);
    const log = await d.waitForLog((l) => l.fields.uri === `${origin.url}/native`);
    assert.equal(log.fields.client_addr, '203.0.113.3:1234');
  });

  it('intelli_proxy sends HTTP to the http_proxy and a SOCKS greeting to the socks_server', async () => {
    const port = await d.port('intelli');
    const out = await exchange(port, get(`${origin.url}/intelli`));
    assert.match(out, /^HTTP\/1\.1 200/);
    const before = await d.call<{ total_conn_count: number }>('server_status', { name: 'sink' });
    for (const greeting of [Buffer.from([5, 1, 0]), Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0])]) {
      const s = await tcpConnect(port);
      s.on('error', () => {}); // a reset from the closing server is fine
      s.write(greeting);
      const got = await readUntil(s, () => false, 3000);
      s.destroy();
      assert.equal(got.length, 0, 'the dummy_close behind closes at once');
    }
    const after = await d.call<{ total_conn_count: number }>('server_status', { name: 'sink' });
    assert.equal(after.total_conn_count - before.total_conn_count, 2);
  });

  it('dummy_close closes every connection', async () => {
    const s = await tcpConnect(await d.port('closer'));
    s.on('error', () => {});
    s.write(get(`${origin.url}/x`));
    const got = await readUntil(s, () => false, 3000);
    assert.equal(got.length, 0);
  });
});
