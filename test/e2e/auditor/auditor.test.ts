/**
 * Auditors end to end: the real daemon with auditors on http_proxy and socks_proxy, real clients and origins
 * on loopback. Protocol inspection of CONNECT / SOCKS tunnels (Inspect records with g3's protocol names),
 * HTTP/1 interception (one HttpForward record per request, responses intact, task byte counts kept), the
 * user `audit` block (prohibit unknown / timed-out protocols, inspection off, ratio 0), comply_audit routing
 * one host through an inspecting auditor, and h2_inspect_policy block / bypass for h2c prior knowledge.
 */
import { createSocket as createUdpSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect as h2connect, createSecureServer as createSecureH2Server, createServer as createH2Server, type Http2SecureServer, type Http2Server } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseConfig, connectTunnel, curl, makePki, readUntil, removePki, runSluice, startCertgen, startDaemon, startEchoServer, startOrigin, tcpConnect,
  type CertgenHandle, type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

const CONFIG = baseConfig({
  directAllow: '127.0.0.0/8',
  escapers: `  - name: audited
    type: comply_audit
    next: direct
    auditor: inspecting
  - name: by_host
    type: route_upstream
    exact_match:
      - next: audited
        hosts: [127.0.0.2]
    default_next: direct
`,
}) + `auditor:
  - name: inspecting
    protocol_inspection:
      data0_wait_timeout: 1500ms
      data0_read_timeout: 600ms
  - name: h2_block
    h2_inspect_policy: block
  - name: h2_bypass
    h2_inspect_policy:
      default: block
      subnet_match:
        bypass: 127.0.0.0/8
  - name: never
    task_audit_ratio: 0
  - name: ws_block
    websocket_inspect_policy: block
  - name: steal
    h1_interception:
      steal_forwarded_for: true
  - name: smtp_block
    server_tcp_portmap:
      SMTP_PORT: smtp
    smtp_inspect_policy: block
user_group:
  - name: users
    static_users:
      - name: strict
        token: null
        audit:
          enable_protocol_inspection: true
          prohibit_unknown_protocol: true
          prohibit_timeout_protocol: true
      - name: off
        token: null
        audit:
          enable_protocol_inspection: false
      - name: ratio0
        token: null
        audit:
          enable_protocol_inspection: true
          task_audit_ratio: 0
      - name: noaudit
        token: null
      - name: shorturi
        token: null
        log_uri_max_chars: 12
        audit:
          enable_protocol_inspection: true
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: inspecting
  - name: socks
    type: socks_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: inspecting
    user_group: users
  - name: plain
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: by_host
  - name: h2block
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: h2_block
  - name: h2bypass
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: h2_bypass
  - name: slow
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: inspecting
    tcp_sock_speed_limit:
      shift_millis: 7
      upload: 1048576
      download: 12800
  - name: steal
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: steal
  - name: smtpblock
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: smtp_block
  - name: wsblock
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: ws_block
  - name: stream
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    auditor: inspecting
    upstream: 127.0.0.1:ORIGIN_PORT
  - name: sampled_out
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: never
  - name: undefined_auditor
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: nowhere
`;

/**
 * A SOCKS5 CONNECT with username/password auth; resolves with the socket once the reply says success, and the
 * bytes that came right behind the reply (a server that speaks first).
 */
async function socks5r(port: number, user: string, host: string, targetPort: number): Promise<{ s: Socket; rest: Buffer }> {
  const s = await tcpConnect(port);
  s.write(Buffer.from([5, 1, 2]));
  await readUntil(s, (b) => b.length >= 2);
  s.removeAllListeners('data');
  const u = Buffer.from(user);
  const p = Buffer.from('pw');
  s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
  const auth = await readUntil(s, (b) => b.length >= 2);
  s.removeAllListeners('data');
  assert.equal(auth[1], 0, `auth of ${user} accepted`);
  const ip = host.split('.').map(Number);
  s.write(Buffer.from([5, 1, 0, 1, ...ip, targetPort >> 8, targetPort & 0xff]));
  const rep = await readUntil(s, (b) => b.length >= 10);
  s.removeAllListeners('data');
  assert.equal(rep[1], 0, 'SOCKS connect succeeded');
  return { s, rest: rep.subarray(10) };
}

async function socks5(port: number, user: string, host: string, targetPort: number): Promise<Socket> {
  return (await socks5r(port, user, host, targetPort)).s;
}

/** Resolves when the socket is closed by the other side, with what it received. */
function closed(s: Socket, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const t = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', () => {});
    s.once('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(parts));
    });
  });
}

const inspects = (d: DaemonHandle, taskId: string) => d.records().filter((r) => r.fields.log_type === 'Inspect' && r.fields.task_id === taskId);
const intercepts = (d: DaemonHandle, taskId: string) => d.records().filter((r) => r.fields.log_type === 'Intercept' && r.fields.task_id === taskId);

describe('auditor', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let origin2: { port: number; close(): Promise<void> };
  let echo: { port: number; close(): Promise<void> };
  let ssh: { port: number; close(): Promise<void> };
  let smtp: { port: number; close(): Promise<void> };
  let h2: Http2Server;
  let h2port: number;

  before(async () => {
    origin = await startOrigin();
    echo = await startEchoServer();
    ssh = await startEchoServer({ banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n' });
    smtp = await startEchoServer({ banner: '220 mx.sluice.test ESMTP Postfix\r\n' });
    // a second plain HTTP origin on 127.0.0.2 for the comply_audit route
    const o2 = createServer((c) => {
      c.on('error', () => {});
      c.once('data', () => c.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo'));
    });
    await new Promise<void>((r) => o2.listen(0, '127.0.0.2', () => r()));
    origin2 = { port: (o2.address() as { port: number }).port, close: () => new Promise<void>((r) => o2.close(() => r())) };
    h2 = createH2Server((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`h2 ${req.url}`);
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
    h2port = (h2.address() as { port: number }).port;
    d = await startDaemon({ files: { 'main.yaml': CONFIG.replace('ORIGIN_PORT', String(origin.port)).replace('SMTP_PORT', String(smtp.port)) } });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await origin2?.close();
    await echo?.close();
    await ssh?.close();
    await smtp?.close();
    await new Promise<void>((r) => (h2 ? h2.close(() => r()) : r()));
  });

  it('CONNECT with plaintext HTTP/1.1: Inspect http_1, one HttpForward per pipelined request, right responses, task bytes', async () => {
    const port = await d.port('http');
    const { socket } = await connectTunnel(port, `127.0.0.1:${origin.port}`);
    const req1 = `GET /hello HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`;
    const req2 = `GET /bytes?n=3000 HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`;
    socket.write(req1 + req2); // pipelined: both requests in one write
    const all = await closed(socket);
    const text = all.toString('latin1');
    const heads = text.split('HTTP/1.1 200 OK').length - 1;
    assert.equal(heads, 2, `two responses: ${text.slice(0, 200)}`);
    assert.match(text, /\r\n\r\nhello/);
    assert.ok(all.length > 3000, 'the 3000-byte body came through');
    const task = await d.waitForTask((r) => r.fields.server_name === 'http' && r.fields.upstream === `127.0.0.1:${origin.port}`);
    const id = task.fields.task_id!;
    const ins = inspects(d, id);
    assert.equal(ins.length, 1);
    assert.equal(ins[0]!.fields.protocol, 'http_1');
    assert.equal(ins[0]!.fields.depth, '1');
    assert.equal(ins[0]!.fields.source, 'stream inspection');
    assert.equal(ins[0]!.fields.auditor_name, 'inspecting');
    const fwd = intercepts(d, id).filter((r) => r.fields.intercept_type === 'HttpForward');
    assert.equal(fwd.length, 2, 'one HttpForward record per request');
    assert.deepEqual(fwd.map((r) => r.fields.request_id), ['0', '1']);
    assert.deepEqual(fwd.map((r) => r.fields.uri), ['/hello', '/bytes?n=3000']);
    assert.deepEqual(fwd.map((r) => r.fields.method), ['GET', 'GET']);
    assert.equal(fwd[0]!.fields.host, `127.0.0.1:${origin.port}`);
    assert.equal(fwd[0]!.fields.rsp_status, '200');
    assert.equal(fwd[1]!.fields.origin_status, '200');
    assert.match(fwd[0]!.fields.received_at!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(fwd[0]!.fields.dur_rsp_recv_all, 'durations are logged');
    // the tunnel's own task log still counts every byte both ways
    assert.equal(Number(task.fields.r_wr_bytes), Buffer.byteLength(req1 + req2));
    assert.equal(Number(task.fields.c_rd_bytes) - Number(task.fields.r_wr_bytes) > 0, true, 'c_rd_bytes includes the CONNECT head');
    assert.equal(Number(task.fields.r_rd_bytes), all.length);
  });

  it('an auditor with task_audit_ratio 0 writes no Inspect record', async () => {
    const port = await d.port('sampled_out');
    const { socket } = await connectTunnel(port, `127.0.0.1:${origin.port}`);
    socket.write(`GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const got = await closed(socket);
    assert.match(got.toString(), /hello$/);
    const task = await d.waitForTask((r) => r.fields.server_name === 'sampled_out');
    assert.equal(inspects(d, task.fields.task_id!).length, 0);
  });

  it('a server naming an auditor that is not defined is audited by a default one of that name (as g3)', async () => {
    await d.waitForStderr(/auditor 'nowhere' does not exist/);
    const port = await d.port('undefined_auditor');
    const { socket } = await connectTunnel(port, `127.0.0.1:${origin.port}`);
    socket.write(`GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match((await closed(socket)).toString(), /hello$/);
    const task = await d.waitForTask((r) => r.fields.server_name === 'undefined_auditor');
    const ins = inspects(d, task.fields.task_id!);
    assert.equal(ins.length, 1, 'protocol inspection with the defaults');
    assert.equal(ins[0]!.fields.auditor_name, 'nowhere');
    assert.equal(ins[0]!.fields.protocol, 'http_1');
    const fwd = intercepts(d, task.fields.task_id!).filter((r) => r.fields.intercept_type === 'HttpForward');
    assert.deepEqual(fwd.map((r) => r.fields.uri), ['/hello']);
  });

  it('socks_proxy: an SSH server banner (server speaks first) is detected as ssh and relayed', async () => {
    const port = await d.port('socks');
    const { s, rest } = await socks5r(port, 'strict', '127.0.0.1', ssh.port);
    const banner = rest.includes(0x0a) ? rest : Buffer.concat([rest, await readUntil(s, (b) => Buffer.concat([rest, b]).includes(0x0a))]);
    assert.match(banner.toString(), /^SSH-2\.0-OpenSSH/);
    s.removeAllListeners('data');
    s.write('SSH-2.0-client\r\n');
    const back = await readUntil(s, (b) => b.includes(Buffer.from('client')));
    assert.match(back.toString(), /SSH-2\.0-client/);
    s.end();
    const task = await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.upstream === `127.0.0.1:${ssh.port}`);
    const ins = inspects(d, task.fields.task_id!);
    assert.equal(ins.length, 1);
    assert.equal(ins[0]!.fields.protocol, 'ssh');
  });

  it('socks_proxy: garbage with prohibit_unknown_protocol closes the connection (ForbiddenByRule)', async () => {
    const port = await d.port('socks');
    const s = await socks5(port, 'strict', '127.0.0.1', echo.port);
    s.write(Buffer.from('\x00\x01\x02\x03 this is no protocol anyone speaks \xff\xfe\r\n', 'latin1'));
    const got = await closed(s);
    assert.equal(got.length, 0, 'nothing was echoed: the data never reached the upstream');
    const task = await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.upstream === `127.0.0.1:${echo.port}` && r.fields.user === 'strict' && r.fields.reason === 'ForbiddenByRule');
    assert.equal(inspects(d, task.fields.task_id!)[0]!.fields.protocol, '_unknown');
  });

  it('socks_proxy: a client that stops mid-detection with prohibit_timeout_protocol is blocked after data0_read_timeout', async () => {
    const port = await d.port('socks');
    const s = await socks5(port, 'strict', '127.0.0.1', echo.port);
    const t0 = Date.now();
    s.write('GET /not-finished'); // an HTTP request line that never ends
    await closed(s);
    const took = Date.now() - t0;
    assert.ok(took >= 500 && took < 3000, `closed after the 600ms read timeout (${took}ms)`);
    const task = await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.user === 'strict' && r.fields.reason === 'ForbiddenByRule' && inspects(d, r.fields.task_id!)[0]?.fields.protocol === '_timeout');
    assert.ok(task);
  });

  it('socks_proxy: a client that never sends, to a server that never sends, is closed as Idle after data0_wait_timeout', async () => {
    const port = await d.port('socks');
    const s = await socks5(port, 'strict', '127.0.0.1', echo.port);
    const t0 = Date.now();
    await closed(s);
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 4000, `closed after the 1.5s wait timeout (${took}ms)`);
    await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.user === 'strict' && r.fields.reason === 'Idle');
  });

  it('the server\'s tcp_sock_speed_limit holds while HTTP/1 is intercepted (100 KiB/s download)', async () => {
    const { socket } = await connectTunnel(await d.port('slow'), `127.0.0.1:${origin.port}`);
    const t0 = Date.now();
    socket.write('GET /bytes?n=204800 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const got = await closed(socket, 10_000);
    const took = Date.now() - t0;
    assert.ok(got.length > 204800);
    assert.ok(took >= 1500, `200 KiB at 100 KiB/s took ${took}ms`);
    const task = await d.waitForTask((r) => r.fields.server_name === 'slow');
    assert.equal(intercepts(d, task.fields.task_id!).filter((r) => r.fields.intercept_type === 'HttpForward').length, 1);
  });

  it('steal_forwarded_for drops Forwarded and X-Forwarded-For; Expect: 100-continue gets the interim response through', async () => {
    const { socket } = await connectTunnel(await d.port('steal'), `127.0.0.1:${origin.port}`);
    socket.write('POST /headers HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.1.1\r\nForwarded: for=10.1.1.1\r\nX-Keep: yes\r\n' +
      'Content-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    const all = closed(socket);
    await readUntil(socket, (b) => b.includes('100 Continue'));
    socket.write('body');
    const text = (await all).toString();
    assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    const json = JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4)) as Record<string, string>;
    assert.equal(json['x-keep'], 'yes');
    assert.equal(json['x-forwarded-for'], undefined);
    assert.equal(json.forwarded, undefined);
  });

  it('smtp_inspect_policy block: the SMTP greeting (server first, port from server_tcp_portmap) is replaced by a 554 and the tunnel closed', async () => {
    const { socket, head } = await connectTunnel(await d.port('smtpblock'), `127.0.0.1:${smtp.port}`);
    // the refusal may come in the same read as the CONNECT answer
    const got = Buffer.concat([Buffer.from(head.slice(head.indexOf('\r\n\r\n') + 4), 'latin1'), await closed(socket)]);
    assert.match(got.toString(), /^554 5\.7\.1 /);
    assert.doesNotMatch(got.toString(), /Postfix/, 'the real greeting never reached the client');
    const t = await d.waitForTask((r) => r.fields.server_name === 'smtpblock');
    assert.equal(t.fields.reason, 'ForbiddenByRule');
    assert.equal(inspects(d, t.fields.task_id!)[0]!.fields.protocol, 'smtp');
  });

  it('user audit: enable_protocol_inspection false, task_audit_ratio 0 and no audit block mean no Inspect records', async () => {
    const port = await d.port('socks');
    for (const user of ['off', 'ratio0', 'noaudit']) {
      const s = await socks5(port, user, '127.0.0.1', echo.port);
      s.write('\x00garbage that a strict user could not send\r\n');
      const back = await readUntil(s, (b) => b.includes(0x0a));
      assert.match(back.toString(), /garbage/, `${user}: relayed without inspection`);
      s.end();
      const task = await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.user === user);
      assert.equal(inspects(d, task.fields.task_id!).length, 0, `${user}: no Inspect record`);
    }
  });

  it('a user\'s log_uri_max_chars replaces the auditor\'s in the HttpForward interception record (as g3)', async () => {
    const s = await socks5(await d.port('socks'), 'shorturi', '127.0.0.1', origin.port);
    s.write(`GET /hello?and-a-long-query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match((await closed(s)).toString(), /hello$/);
    const task = await d.waitForTask((r) => r.fields.server_name === 'socks' && r.fields.user === 'shorturi');
    const fwd = intercepts(d, task.fields.task_id!).filter((r) => r.fields.intercept_type === 'HttpForward');
    assert.deepEqual(fwd.map((r) => r.fields.uri), ['/hello?and-a']);
  });

  it('comply_audit: only the host routed through it is inspected by its auditor', async () => {
    const port = await d.port('plain');
    // 127.0.0.2 goes through comply_audit (auditor inspecting), 127.0.0.1 straight to direct
    for (const [host, p] of [['127.0.0.2', origin2.port], ['127.0.0.1', origin.port]] as const) {
      const { socket } = await connectTunnel(port, `${host}:${p}`);
      socket.write(`GET /hello HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      const got = await closed(socket);
      assert.match(got.toString(), /^HTTP\/1\.1 200/);
    }
    const t2 = await d.waitForTask((r) => r.fields.server_name === 'plain' && r.fields.upstream === `127.0.0.2:${origin2.port}`);
    const t1 = await d.waitForTask((r) => r.fields.server_name === 'plain' && r.fields.upstream === `127.0.0.1:${origin.port}`);
    const ins = inspects(d, t2.fields.task_id!);
    assert.equal(ins.length, 1);
    assert.equal(ins[0]!.fields.auditor_name, 'inspecting');
    assert.equal(ins[0]!.fields.protocol, 'http_1');
    assert.equal(intercepts(d, t2.fields.task_id!).filter((r) => r.fields.intercept_type === 'HttpForward').length, 1);
    assert.equal(inspects(d, t1.fields.task_id!).length, 0, 'the other host is not audited');
  });

  it('curl through CONNECT (-p) with a chunked POST body: the body reaches the origin and comes back whole', async () => {
    const port = await d.port('http');
    const body = 'x'.repeat(200_000);
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-aud-')), 'body');
    writeFileSync(file, body);
    const r = await curl(['-sS', '-p', '-x', `http://127.0.0.1:${port}`, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `${origin.url}/echo`]);
    rmSync(dirname(file), { recursive: true, force: true });
    assert.equal(r.status, 200);
    assert.equal(r.body, body);
    const fwd = await d.waitForLog((l) => l.fields.log_type === 'Intercept' && l.fields.intercept_type === 'HttpForward' && l.fields.method === 'POST');
    assert.equal(fwd.fields.uri, '/echo');
    assert.equal(fwd.fields.rsp_status, '200');
  });

  it('websocket upgrade: intercept relays frames after 101 and logs HttpUpgrade + H1Websocket; block answers 403', async () => {
    const ws = createServer((c) => {
      c.on('error', () => {});
      c.once('data', () => {
        c.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n');
        c.on('data', (dd) => c.write(dd));
      });
    });
    await new Promise<void>((r) => ws.listen(0, '127.0.0.1', () => r()));
    const wsPort = (ws.address() as { port: number }).port;
    try {
      const upgrade = `GET /chat HTTP/1.1\r\nHost: 127.0.0.1:${wsPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://a.test\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
      const { socket } = await connectTunnel(await d.port('http'), `127.0.0.1:${wsPort}`);
      socket.write(upgrade);
      const head = await readUntil(socket, (b) => b.includes('\r\n\r\n'));
      assert.match(head.toString(), /^HTTP\/1\.1 101/);
      socket.removeAllListeners('data');
      socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
      const frame = await readUntil(socket, (b) => b.length >= 4);
      assert.deepEqual([...frame], [0x81, 0x02, 0x68, 0x69]);
      socket.destroy();
      const wsRec = await d.waitForLog((l) => l.fields.log_type === 'Intercept' && l.fields.intercept_type === 'H1Websocket');
      assert.equal(wsRec.fields.ws_resource_name, '/chat');
      assert.equal(wsRec.fields.ws_origin, 'http://a.test');
      assert.equal(wsRec.fields.ws_version, '13');
      const up = await d.waitForLog((l) => l.fields.log_type === 'Intercept' && l.fields.intercept_type === 'HttpUpgrade' && l.fields.task_id === wsRec.fields.task_id);
      assert.equal(up.fields.next_protocol, 'websocket');
      assert.equal(up.fields.rsp_status, '101');

      const blocked = await connectTunnel(await d.port('wsblock'), `127.0.0.1:${wsPort}`);
      blocked.socket.write(upgrade);
      const got = await closed(blocked.socket);
      assert.match(got.toString(), /^HTTP\/1\.1 403 Forbidden/);
      const t = await d.waitForTask((r) => r.fields.server_name === 'wsblock');
      assert.equal(t.fields.reason, 'ForbiddenByRule');
    } finally {
      await new Promise<void>((r) => ws.close(() => r()));
    }
  });

  it('tcp_stream with an auditor: the stream is inspected and its HTTP/1 requests intercepted', async () => {
    const r = await curl(['-sS', `http://127.0.0.1:${await d.port('stream')}/hello`]);
    assert.equal(r.body, 'hello');
    const task = await d.waitForTask((l) => l.fields.server_name === 'stream');
    assert.equal(inspects(d, task.fields.task_id!)[0]?.fields.protocol, 'http_1');
    assert.equal(intercepts(d, task.fields.task_id!).filter((l) => l.fields.intercept_type === 'HttpForward').length, 1);
  });

  async function h2ViaTunnel(server: string): Promise<{ status?: number; body?: string; error?: string }> {
    const port = await d.port(server);
    const { socket } = await connectTunnel(port, `127.0.0.1:${h2port}`);
    return new Promise((resolve) => {
      const session = h2connect(`http://127.0.0.1:${h2port}`, { createConnection: () => socket });
      const done = (r: { status?: number; body?: string; error?: string }) => {
        session.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => done({ error: 'timeout' }), 5000);
      session.on('error', (e) => {
        clearTimeout(timer);
        done({ error: e.message });
      });
      session.on('close', () => {
        clearTimeout(timer);
        done({ error: 'closed' });
      });
      const req = session.request({ ':path': '/h2path' });
      let status: number | undefined;
      let body = '';
      req.on('response', (h) => (status = h[':status'] as number));
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        clearTimeout(timer);
        done({ status, body });
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        done({ error: e.message });
      });
      req.end();
    });
  }

  it('h2c prior knowledge: h2_inspect_policy block closes the tunnel, intercept and bypass carry it', async () => {
    const blocked = await h2ViaTunnel('h2block');
    assert.equal(blocked.status, undefined, `no response through a blocked tunnel: ${JSON.stringify(blocked)}`);
    const tb = await d.waitForTask((r) => r.fields.server_name === 'h2block');
    assert.equal(tb.fields.reason, 'ForbiddenByRule');
    assert.equal(inspects(d, tb.fields.task_id!)[0]!.fields.protocol, 'http_2');

    const passed = await h2ViaTunnel('h2bypass');
    assert.deepEqual(passed, { status: 200, body: 'h2 /h2path' });
    // intercept (the default policy): the HTTP/2 interceptor carries it, the h2c server speaking first included
    const intercepted = await h2ViaTunnel('http');
    assert.deepEqual(intercepted, { status: 200, body: 'h2 /h2path' });
    const h2rec = await d.waitForLog((r) => r.fields.log_type === 'Intercept' && r.fields.auditor_name === 'inspecting' && r.fields.intercept_type === 'H2StreamForward');
    assert.equal(inspects(d, h2rec.fields.task_id!)[0]!.fields.protocol, 'http_2');

    // (node's h2 server keeps its half of the tunnel open after the client's FIN, so the task lives on)
    const ip = await d.waitForLog((r) => r.fields.log_type === 'Inspect' && r.fields.auditor_name === 'h2_bypass');
    assert.equal(ip.fields.protocol, 'http_2');
  });
});


describe('auditor with TLS interception', () => {
  let d: DaemonHandle;
  let originPki: TestPki;
  let mitmPki: TestPki;
  let certgen: CertgenHandle;
  let origin: HttpsServer;
  let h2origin: Http2SecureServer;
  let originPort: number;
  let h2Port: number;
  let dumpSock: UdpSocket;
  let plain: Origin;
  const dumped: Buffer[] = [];

  before(async () => {
    dumpSock = createUdpSocket('udp4');
    dumpSock.on('message', (m) => dumped.push(m));
    await new Promise<void>((r) => dumpSock.bind(0, '127.0.0.1', () => r()));
    originPki = makePki(['localhost'], ['127.0.0.1']);
    mitmPki = makePki(['unused.invalid'], []);
    certgen = await startCertgen(mitmPki);
    plain = await startOrigin();
    origin = createHttpsServer({ key: originPki.key, cert: originPki.cert }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url === '/big' ? Buffer.alloc(200 * 1024, 0x62) : `tls ${req.url}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    originPort = (origin.address() as { port: number }).port;
    h2origin = createSecureH2Server({ key: originPki.key, cert: originPki.cert, allowHTTP1: true }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`h2tls ${req.url} ${req.httpVersion}`);
    });
    await new Promise<void>((r) => h2origin.listen(0, '127.0.0.1', () => r()));
    h2Port = (h2origin.address() as { port: number }).port;
    d = await startDaemon({
      files: {
        'main.yaml': baseConfig() + `auditor:
  - name: mitm
    tls_cert_generator:
      query_peer_addr: 127.0.0.1:${certgen.port}
    tls_interception_client:
      ca_certificate: ${originPki.files.caCert}
    tls_stream_dump:
      peer: 127.0.0.1:${dumpSock.address().port}
      packet_size: 600
  - name: mitm_no_h2
    tls_cert_generator: 127.0.0.1:${certgen.port}
    tls_interception_client:
      ca_certificate: ${originPki.files.caCert}
    h2_inspect_policy: block
server:
  - name: noh2
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: mitm_no_h2
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: mitm
  - name: slowtls
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: mitm
    tcp_sock_speed_limit:
      shift_millis: 7
      upload: 1048576
      download: 12800
  - name: tlsstream
    type: tls_stream
    listen: 127.0.0.1:0
    escaper: direct
    auditor: mitm
    upstream: 127.0.0.1:${plain.port}
    tls_server:
      certificate: ${originPki.files.cert}
      private_key: ${originPki.files.key}
  - name: sni
    type: sni_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: mitm
    allowed_hosts:
      - exact_match: localhost
        redirect_host: 127.0.0.1
        redirect_port: ${originPort}
`,
      },
    });
  });
  after(async () => {
    await d?.stop();
    await certgen?.stop();
    dumpSock?.close();
    await plain?.close();
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    await new Promise<void>((r) => (h2origin ? h2origin.close(() => r()) : r()));
    if (originPki) removePki(originPki);
    if (mitmPki) removePki(mitmPki);
  });

  it('the server\'s tcp_sock_speed_limit holds inside intercepted TLS (100 KiB/s download)', async () => {
    const port = await d.port('slowtls');
    const t0 = Date.now();
    const r = await curl(['-sS', '--http1.1', '-x', `http://127.0.0.1:${port}`,
      '--cacert', mitmPki.files.caCert, `https://127.0.0.1:${originPort}/big`], 20_000);
    const took = Date.now() - t0;
    assert.equal(r.status, 200, r.stderr);
    assert.equal(r.body.length, 200 * 1024, 'the whole body');
    assert.ok(took >= 1500, `200 KiB at 100 KiB/s took ${took}ms`);
    const task = await d.waitForTask((l) => l.fields.server_name === 'slowtls');
    assert.equal(intercepts(d, task.fields.task_id!).filter((l) => l.fields.intercept_type === 'HttpForward').length, 1);
  });

  it('curl https through CONNECT, trusting the interception CA: TlsHandshake, Inspect at depth 2, two HttpForward records', async () => {
    const port = await d.port('http');
    const r = await curl(['-sS', '--http1.1', '-x', `http://127.0.0.1:${port}`, '--cacert', mitmPki.files.caCert,
      `https://127.0.0.1:${originPort}/one`, `https://127.0.0.1:${originPort}/two`]);
    assert.match(r.body, /^tls \/one\n?(200)?tls \/two/, r.stderr);
    const task = await d.waitForTask((l) => l.fields.server_name === 'http' && l.fields.upstream === `127.0.0.1:${originPort}`);
    const id = task.fields.task_id!;
    const ins = inspects(d, id);
    assert.deepEqual(ins.map((l) => [l.fields.depth, l.fields.protocol]), [['1', 'tls_modern'], ['2', 'http_1']]);
    const hs = intercepts(d, id).find((l) => l.fields.intercept_type === 'TlsHandshake');
    assert.ok(hs, 'a TlsHandshake record');
    assert.equal(hs.fields.upstream, `127.0.0.1:${originPort}`);
    assert.equal(hs.fields.tls_server_verify, 'ok');
    assert.equal(hs.fields.depth, '1');
    const fwd = intercepts(d, id).filter((l) => l.fields.intercept_type === 'HttpForward');
    assert.deepEqual(fwd.map((l) => [l.fields.depth, l.fields.uri, l.fields.rsp_status]), [['2', '/one', '200'], ['2', '/two', '200']]);
    // the task log counts the TLS bytes on the wire, not the cleartext
    assert.ok(Number(task.fields.r_rd_bytes) > 500, `r_rd_bytes ${task.fields.r_rd_bytes}`);
    // tls_stream_dump: the cleartext went to the udpdump peer as exported PDUs (dissector http, both directions)
    const deadline = Date.now() + 3000;
    while (!dumped.some((p) => p.includes('tls /two')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const req = dumped.find((p) => p.includes('GET /one HTTP/1.1'));
    assert.ok(req, `dumped request among ${dumped.length} packets`);
    assert.ok(req.subarray(0, 20).includes('exported_pdu'));
    assert.ok(req.includes(Buffer.from([0, 12, 0, 4, ...Buffer.from('http')])), 'dissector name http');
    assert.ok(dumped.some((p) => p.includes('tls /two')), 'the responses are dumped too');
    assert.ok(dumped.every((p) => p.length <= 600), 'packet_size bounds every packet');
  });

  it('h2_inspect_policy block with TLS interception: h2 is not offered in ALPN, the client falls back to HTTP/1.1 (as g3)', async () => {
    const port = await d.port('noh2');
    const r = await curl(['-sS', '--http2', '-x', `http://127.0.0.1:${port}`, '--cacert', mitmPki.files.caCert, `https://127.0.0.1:${h2Port}/fallback`]);
    assert.equal(r.body, 'h2tls /fallback 1.1', r.stderr);
    const task = await d.waitForTask((l) => l.fields.server_name === 'noh2');
    assert.deepEqual(inspects(d, task.fields.task_id!).map((l) => l.fields.protocol), ['tls_modern', 'http_1']);
  });

  it('sni_proxy with the auditor: the TLS stream picked by SNI is intercepted and its requests logged', async () => {
    const port = await d.port('sni');
    const r = await curl(['-sS', '--http1.1', '--cacert', mitmPki.files.caCert, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/via-sni`]);
    assert.equal(r.body, 'tls /via-sni', r.stderr);
    const task = await d.waitForTask((l) => l.fields.server_name === 'sni');
    const id = task.fields.task_id!;
    assert.deepEqual(inspects(d, id).map((l) => l.fields.protocol), ['tls_modern', 'http_1']);
    const fwd = intercepts(d, id).filter((l) => l.fields.intercept_type === 'HttpForward');
    assert.deepEqual(fwd.map((l) => l.fields.uri), ['/via-sni']);
  });

  it('tls_stream with the auditor: the cleartext after the server\'s own TLS is inspected and intercepted', async () => {
    const port = await d.port('tlsstream');
    const r = await curl(['-sS', '--http1.1', '--cacert', originPki.files.caCert, `https://127.0.0.1:${port}/hello`]);
    assert.equal(r.body, 'hello', r.stderr);
    const task = await d.waitForTask((l) => l.fields.server_name === 'tlsstream');
    const id = task.fields.task_id!;
    assert.deepEqual(inspects(d, id).map((l) => l.fields.protocol), ['http_1']);
    assert.equal(intercepts(d, id).filter((l) => l.fields.intercept_type === 'HttpForward').length, 1);
  });

  it('curl --http2 to an h2 origin: ALPN h2 through the interception, HTTP/2 intercepted (H2 records)', async () => {
    const port = await d.port('http');
    const r = await curl(['-sS', '--http2', '-x', `http://127.0.0.1:${port}`, '--cacert', mitmPki.files.caCert, `https://127.0.0.1:${h2Port}/h2`]);
    assert.equal(r.body, 'h2tls /h2 2.0', r.stderr);
    const task = await d.waitForTask((l) => l.fields.server_name === 'http' && l.fields.upstream === `127.0.0.1:${h2Port}`);
    const id = task.fields.task_id!;
    assert.deepEqual(inspects(d, id).map((l) => [l.fields.source, l.fields.protocol]), [['stream inspection', 'tls_modern'], ['tls alpn', 'http_2']]);
    const types = intercepts(d, id).map((l) => l.fields.intercept_type);
    assert.ok(types.includes('TlsHandshake'), types.join());
    assert.ok(types.some((t) => t?.startsWith('H2')), types.join());
  });
});

describe('sluice -t on g3-style auditor configs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-aud-t-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const common = `runtime:
  thread_number: 2
log: stdout
resolver:
  - name: default
    type: c-ares
escaper:
  - name: default
    type: direct_fixed
    resolver: default
`;
  const check = async (name: string, yaml: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yaml);
    return runSluice(['-t', '-c', file]);
  };

  it('accepts the shape of g3\'s inspect_http_proxy example (cert generator, ticketer, stream dump with defaults)', async () => {
    const r = await check('inspect_http_proxy', common + `auditor:
  - name: default
    protocol_inspection: { }
    tls_cert_generator: { }
    tls_ticketer: { }
    tls_stream_dump: { }
server:
  - name: http
    escaper: default
    auditor: default
    type: http_proxy
    listen:
      address: "[::]:8080"
    tls_client: { }
  - name: socks
    escaper: default
    auditor: default
    type: socks_proxy
    listen:
      address: "[::]:1080"
`);
    assert.equal(r.code, 0, r.stderr);
  });

  it('accepts the shape of g3\'s inspect_tcp_stream example', async () => {
    const r = await check('inspect_tcp_stream', common + `controller:
  local:
    recv_timeout: 30
    send_timeout: 1
auditor:
  - name: default
    protocol_inspection: { }
    tls_cert_generator: { }
server:
  - name: http_ipip
    escaper: default
    auditor: default
    type: tcp_stream
    listen:
      address: "127.0.0.1:8001"
    proxy_pass: "myip.ipip.net:80"
  - name: https_ipip
    escaper: default
    auditor: default
    type: tcp_stream
    listen:
      address: "127.0.0.1:8002"
    proxy_pass: "myip.ipip.net:443"
`);
    assert.equal(r.code, 0, r.stderr);
  });

  it('refuses ICAP with the file, the key path and why', async () => {
    const r = await check('icap', common + `auditor:
  - name: default
    icap_reqmod_service: icap://127.0.0.1:1344/echo
`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /icap\.yaml:\d+:\d+: auditor 'default': \/icap_reqmod_service: ICAP is not implemented/);
  });
});

describe('auditor reload', () => {
  let d: DaemonHandle;
  let origin: Origin;
  const config = (ratio: string) => baseConfig() + `auditor:
  - name: a
    task_audit_ratio: ${ratio}
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
    auditor: a
`;
  before(async () => {
    origin = await startOrigin();
    d = await startDaemon({ files: { 'main.yaml': config('0') } });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
  });

  async function tunnelTask(path: string): Promise<string> {
    const { socket } = await connectTunnel(await d.port('http'), `127.0.0.1:${origin.port}`);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    await closed(socket);
    // the tunnel's task: the one whose bytes carried this path's request (the last one so far)
    const t = await d.waitForTask((r) => r.fields.server_name === 'http' && Number(r.fields.r_wr_bytes) === 45 + path.length);
    return t.fields.task_id!;
  }

  it('a changed auditor applies to new tasks after SIGHUP', async () => {
    const before = await tunnelTask('/a');
    assert.equal(inspects(d, before).length, 0, 'ratio 0: not audited');
    d.writeFile('main.yaml', config('1'));
    d.signal('SIGHUP');
    await d.waitForStderr(/reload done/);
    const after = await tunnelTask('/bb');
    assert.equal(inspects(d, after)[0]?.fields.protocol, 'http_1', 'ratio 1 after the reload');
  });
});
