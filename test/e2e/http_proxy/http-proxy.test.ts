/**
 * The http_proxy server end to end: the real daemon on 127.0.0.1, real clients (curl, node http/tls/net) and
 * real origins. Covers forwarding with streamed bodies both ways, keep-alive reuse, CONNECT to a TLS origin,
 * egress-filter denial, SIGHUP reload while a tunnel is open, and the SIGTERM drain.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectTunnel, curl, makePki, pattern, readUntil, removePki, scenarioDir, startDaemon, startEchoServer, startOrigin,
  startTlsOrigin, tcpConnect, type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

const here = scenarioDir(import.meta.url);
const baseYaml = readFileSync(join(here, 'sluice.yaml'), 'utf8');

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A request through the proxy in absolute form, collecting the response body. */
function viaProxy(proxyPort: number, url: string, opts: { method?: string; body?: Buffer | AsyncIterable<Buffer>; agent?: Agent; headers?: Record<string, string> } = {}): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({
      host: '127.0.0.1', port: proxyPort, method: opts.method ?? 'GET', path: url, agent: opts.agent ?? false,
      headers: { host: u.host, ...(opts.headers ?? {}) },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        for await (const piece of body) if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
        req.end();
      })();
    }
  });
}

describe('http_proxy', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let port: number;

  before(async () => {
    origin = await startOrigin();
    d = await startDaemon({ files: { 'main.yaml': baseYaml } });
    port = await d.port('http');
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
  });

  it('forwards a GET with curl -x and logs the task', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/hello`]);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello');
    const log = await d.waitForLog((l) => l.fields.task_type === 'HttpForward' && l.fields.uri === `${origin.url}/hello`);
    assert.equal(log.fields.server_name, 'http');
    assert.equal(log.fields.server_type, 'HttpProxy');
    assert.equal(log.fields.escaper, 'direct');
    assert.equal(log.fields.method, 'GET');
    assert.equal(log.fields.rsp_status, '200');
    assert.equal(log.fields.origin_status, '200');
    assert.equal(log.fields.upstream, `127.0.0.1:${origin.port}`);
    assert.match(log.fields.task_id!, /^[0-9a-f]{32}$/);
    assert.match(log.fields.start_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(log.fields.log_type, 'Task');
    // the origin saw a rebuilt head: Host from the URI, no proxy headers
    const seen = origin.seen.at(-1)!;
    assert.equal(seen.url, '/hello');
    assert.equal(seen.headers.host, `127.0.0.1:${origin.port}`);
    assert.equal(seen.headers['proxy-connection'], undefined);
  });

  it('streams a large POST body up and a large response down (Content-Length)', async () => {
    const body = pattern(8 * 1024 * 1024 + 17);
    const r = await viaProxy(port, `${origin.url}/echo`, { method: 'POST', body });
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.body.length, body.length);
    assert.equal(sha(r.body), sha(body));
  });

  it('streams a chunked upload and a chunked download', async () => {
    const total = 3 * 1024 * 1024;
    async function* gen() {
      const all = pattern(total);
      for (let off = 0; off < total; off += 100_000) yield all.subarray(off, Math.min(total, off + 100_000));
    }
    const up = await viaProxy(port, `${origin.url}/echo`, { method: 'PUT', body: gen() });
    assert.equal(up.res.statusCode, 200);
    assert.equal(sha(up.body), sha(pattern(total)));
    const down = await viaProxy(port, `${origin.url}/chunked?n=${total}`);
    assert.equal(down.res.headers['transfer-encoding'], 'chunked');
    assert.equal(sha(down.body), sha(pattern(total)));
  });

  it('reuses the client connection and the upstream connection with keep-alive', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = origin.connections;
    const status0 = await d.call<{ total_conn_count: number }>('server_status', { name: 'http' });
    for (let i = 0; i < 5; i++) {
      const r = await viaProxy(port, `${origin.url}/hello?i=${i}`, { agent });
      assert.equal(r.body.toString(), 'hello');
    }
    agent.destroy();
    const status1 = await d.call<{ total_conn_count: number; total_task_count: number }>('server_status', { name: 'http' });
    assert.equal(status1.total_conn_count - status0.total_conn_count, 1, 'one client connection for five requests');
    // the server pools upstream connections across clients: one kept from an earlier test may serve all five
    assert.ok(origin.connections - before <= 1, 'at most one new upstream connection for five requests');
    const logs = await d.waitForLog((l) => l.fields.uri === `${origin.url}/hello?i=4`);
    assert.equal(logs.fields.reuse_connection, 'true');
  });

  it('tunnels CONNECT to a TLS origin (curl -p and node tls)', async () => {
    const pki: TestPki = makePki(['localhost']);
    const tlsOrigin = await startTlsOrigin(pki);
    try {
      const r = await curl(['-p', '-x', `http://127.0.0.1:${port}`, '--cacert', pki.files.caCert, `https://127.0.0.1:${tlsOrigin.port}/`], 15_000);
      assert.equal(r.status, 200, r.stderr);
      assert.equal(r.body, 'tls-hello');
      const { socket } = await connectTunnel(port, `127.0.0.1:${tlsOrigin.port}`);
      const t = tlsConnect({ socket, ca: pki.caCert, servername: 'localhost' });
      await new Promise<void>((res, rej) => t.once('secureConnect', () => res()).once('error', rej));
      t.write('ECHO\nping');
      const got = await readUntil(t as unknown as import('node:net').Socket, (b) => b.toString().includes('ping'));
      assert.ok(got.toString().includes('ping'));
      t.destroy();
      const log = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.upstream === `127.0.0.1:${tlsOrigin.port}`);
      assert.equal(log.fields.stage, 'Relaying');
      assert.ok(Number(log.fields.c_rd_bytes) > 0 && Number(log.fields.r_rd_bytes) > 0);
    } finally {
      await tlsOrigin.close();
      removePki(pki);
    }
  });
});

describe('http_proxy egress filter', () => {
  it('denies loopback by default with 403 and a task log reason', async () => {
    const origin = await startOrigin();
    const yaml = baseYaml.replace(/    egress_network_filter:\n      default: allow\n      allow: 127.0.0.1\n/, '');
    const d = await startDaemon({ files: { 'main.yaml': yaml } });
    try {
      const port = await d.port('http');
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`]);
      assert.equal(r.status, 403);
      assert.equal(origin.seen.length, 0, 'the origin was never reached');
      const log = await d.waitForLog((l) => l.fields.task_type === 'HttpForward');
      assert.equal(log.fields.reason, 'ForbiddenByRule');
      assert.equal(log.fields.rsp_status, '403');
      assert.match(log.msg, /egress_network_filter/);
      // a CONNECT is refused the same way
      await assert.rejects(connectTunnel(port, `127.0.0.1:${origin.port}`), (e: { status?: number }) => e.status === 403);
    } finally {
      await d.stop();
      await origin.close();
    }
  });
});

describe('http_proxy reload and drain', () => {
  it('SIGHUP changes behaviour while an open tunnel keeps relaying', async () => {
    const echo = await startEchoServer();
    const origin = await startOrigin();
    const d = await startDaemon({ files: { 'main.yaml': baseYaml } });
    try {
      const port = await d.port('http');
      const { socket } = await connectTunnel(port, `127.0.0.1:${echo.port}`);
      socket.write('one');
      assert.equal((await readUntil(socket, (b) => b.length >= 3)).toString(), 'one');
      // forbid the origin's port from now on
      d.writeFile('main.yaml', baseYaml.replace('    escaper: direct\n', `    escaper: direct\n    dst_port_filter:\n      default: allow\n      forbid: ${origin.port}\n`));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload done/);
      assert.equal(await d.port('http'), port, 'the listener was kept');
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`]);
      assert.equal(r.status, 403);
      socket.write('two');
      assert.equal((await readUntil(socket, (b) => b.length >= 3)).toString(), 'two', 'the old tunnel still relays');
      // a broken config is refused and the daemon keeps serving the previous one
      d.writeFile('main.yaml', baseYaml.replace('type: http_proxy', 'type: http_proxy\n    no_such_key: 1'));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload aborted/);
      const r2 = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`]);
      assert.equal(r2.status, 403, 'still the config of the last good reload');
      socket.destroy();
    } finally {
      await d.stop();
      await origin.close();
      await echo.close();
    }
  });

  it('SIGTERM stops listening, lets an open tunnel finish, then exits 0', async () => {
    const echo = await startEchoServer();
    const d = await startDaemon({ files: { 'main.yaml': baseYaml } });
    try {
      const port = await d.port('http');
      const { socket } = await connectTunnel(port, `127.0.0.1:${echo.port}`);
      d.signal('SIGTERM');
      // new connections are refused once offline
      const deadline = Date.now() + 5000;
      let refused = false;
      while (!refused && Date.now() < deadline) {
        refused = await tcpConnect(port).then((s) => (s.destroy(), false), () => true);
        if (!refused) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(refused, 'listener closed');
      socket.write('still');
      assert.equal((await readUntil(socket, (b) => b.length >= 5)).toString(), 'still');
      assert.equal(d.exitCode, null, 'daemon waits for the tunnel');
      socket.end();
      assert.equal(await d.waitExit(10_000), 0);
      const log = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect');
      assert.equal(log.fields.reason, 'ClosedByClient');
    } finally {
      await d.stop();
      await echo.close();
    }
  });
});
