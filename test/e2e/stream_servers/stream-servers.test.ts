/**
 * tcp_stream, tls_stream and sni_proxy end to end, with real clients (curl, node tls) and real origins:
 * relaying both ways (a 2MB download checked by hash), upstream TLS verified against upstream_tls_name,
 * round-robin over two upstreams, facts authentication by client IP, TLS offload, SNI and Host routing with
 * allowed_hosts redirection, a ClientHello split over records and TCP segments; and hostile first bytes
 * (garbage, an oversized hello, no SNI, silence, a stalled hello, a bad handshake) each ending in one task log
 * record with its reason while the daemon keeps serving.
 */
import { createHash } from 'node:crypto';
import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseConfig,
  curl, makePki, pattern, removePki, startDaemon, startEchoServer, startOrigin, startTlsOrigin,
  type DaemonHandle, type Origin, type TestPki,
} from '@sluice/testkit';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function named(name: string) {
  return startOrigin((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length });
    res.end(name);
  });
}

/** Send `data` (or nothing) and collect what comes back until the server closes (bounded). */
function exchange(port: number, data: Buffer | string | null, timeoutMs = 5000): Promise<{ got: Buffer; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = netConnect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs}ms`));
    }, timeoutMs);
    s.on('connect', () => {
      if (data !== null) s.write(data);
    });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ got: Buffer.concat(parts), closedAfterMs: Date.now() - t0 });
    });
  });
}

/** TLS through `port` with `servername`, one HTTP/1.0 request; resolves with the response text. */
function tlsGet(port: number, servername: string, ca: string, socket?: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ host: '127.0.0.1', port, servername, ca, ...(socket ? { socket } : {}) });
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      t.destroy();
      reject(new Error('TLS request timed out'));
    }, 10_000);
    t.on('secureConnect', () => t.write(`GET / HTTP/1.0\r\nHost: ${servername}\r\n\r\n`));
    t.on('data', (d: Buffer) => parts.push(d));
    t.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    t.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
  });
}

/**
 * A loopback relay in front of `target` that re-frames the client's first TLS record into records of
 * `recordSize` handshake bytes and writes them a few bytes at a time, so the proxy sees a ClientHello split
 * over several records and many TCP segments. Everything after the first record is passed through.
 */
async function splittingRelay(target: number, recordSize: number, pieceSize: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((c) => {
    sockets.add(c);
    const up = netConnect(target, '127.0.0.1');
    up.setNoDelay(true);
    sockets.add(up);
    let first: Buffer | null = Buffer.alloc(0);
    c.on('data', async (d: Buffer) => {
      if (first === null) return void up.write(d);
      first = Buffer.concat([first, d]);
      if (first.length < 5 || first.length < 5 + first.readUInt16BE(3)) return;
      const recLen = first.readUInt16BE(3);
      const hs = first.subarray(5, 5 + recLen);
      const rest = first.subarray(5 + recLen);
      first = null;
      c.pause();
      const records: Buffer[] = [];
      for (let at = 0; at < hs.length; at += recordSize) {
        const frag = hs.subarray(at, at + recordSize);
        records.push(Buffer.from([0x16, 0x03, 0x01, frag.length >> 8, frag.length & 0xff]), frag);
      }
      const all = Buffer.concat([...records, rest]);
      for (let at = 0; at < all.length; at += pieceSize) {
        up.write(all.subarray(at, at + pieceSize));
        await new Promise((r) => setTimeout(r, 2));
      }
      c.resume();
    });
    up.on('data', (d: Buffer) => c.write(d));
    c.on('end', () => up.end());
    up.on('end', () => c.end());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
    c.on('close', () => sockets.delete(c));
    up.on('close', () => sockets.delete(up));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      srv.close(() => r());
    }),
  };
}

describe('stream servers', () => {
  let d: DaemonHandle;
  let a: Origin;
  let b: Origin;
  let plain: Origin;
  let secure: { port: number; close(): Promise<void> };
  let pkiS: TestPki;
  let pkiT: TestPki;
  let echo: { port: number; close(): Promise<void> };
  /** a TLS origin on 127.0.0.2, on the port sni_proxy 'snidefault' listens on at 127.0.0.1 */
  let alt: Server;
  let altPort: number;
  const port: Record<string, number> = {};

  before(async () => {
    a = await named('origin-a');
    b = await named('origin-b');
    plain = await startOrigin();
    pkiS = makePki(['secure.test', 'origin.test'], []);
    pkiT = makePki(['stream.test'], []);
    secure = await startTlsOrigin({ key: pkiS.key, cert: pkiS.cert });
    echo = await startEchoServer();
    alt = createTlsServer({ key: pkiS.key, cert: pkiS.cert }, (s) => {
      s.on('error', () => {});
      s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nalt'));
    });
    await new Promise<void>((r) => alt.listen(0, '127.0.0.2', r));
    altPort = (alt.address() as AddressInfo).port;
    const yaml = `
${baseConfig({ directDefault: 'forbid', directAllow: '127.0.0.0/8' })}user_group:
  - name: local
    type: facts
    static_users:
      - name: loopback
        token: null
        match_by_facts: ['ip:127.0.0.1']
  - name: names
    type: facts
    static_users:
      - name: by-ip
        token: null
        match_by_facts: ['ip:127.0.0.1']
      - name: by-name
        token: null
        match_by_facts: ['child-domain:named.test']
  - name: elsewhere
    type: facts
    static_users:
      - name: lan
        token: null
        match_by_facts: [{ net: 192.168.0.0/16 }]
server:
  - name: ts
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    proxy_pass: 127.0.0.1:${plain.port}
  - name: tsrr
    type: TcpStream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: ["127.0.0.1:${a.port}", { addr: "127.0.0.1:${b.port}", weight: 1 }]
    upstream_pick_policy: round_robin
  - name: tstls
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${secure.port}
    tls_client:
      ca_certificate: ${pkiS.files.caCert}
    upstream_tls_name: origin.test
  - name: tsbadname
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${secure.port}
    tls_client:
      ca_certificate: ${pkiS.files.caCert}
    upstream_tls_name: wrong.test
  - name: tsauth
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${a.port}
    user_group: local
    auth_by_client_ip: true
  - name: tsdeny
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${a.port}
    user_group: elsewhere
    auth_by_client_ip: true
  - name: tsidle
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${echo.port}
    task_idle_check_interval: 2s
    task_idle_max_count: 1
  - name: tsslow
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${plain.port}
    tcp_sock_speed_limit: { shift_millis: 7, upload: 32K, download: 32K }
  - name: tls
    type: tls_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${b.port}
    tls_server:
      certificate: ${pkiT.files.cert}
      private_key: ${pkiT.files.key}
      handshake_timeout: 2s
  - name: sni
    type: sni_proxy
    listen: 127.0.0.1:0
    escaper: direct
    request_wait_timeout: 1500ms
    request_recv_timeout: 1s
    allowed_sites:
      - exact_match: secure.test
        redirect_host: 127.0.0.1
        redirect_port: ${secure.port}
      - child_match: plain.test
        redirect_host: 127.0.0.1
        redirect_port: ${plain.port}
  - name: snismall
    type: sni_proxy
    listen: 127.0.0.1:0
    escaper: direct
    tls_max_client_hello_size: 128
  - name: snidefault
    type: sni_proxy
    listen: 127.0.0.1:${altPort}
    escaper: direct
    allowed_hosts:
      exact_match: origin.test
      redirect_host: 127.0.0.2
  - name: sniauth
    type: sni_proxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: names
    auth_by_server_name: true
    allowed_hosts:
      - exact_match: secure.test
        redirect_host: 127.0.0.1
        redirect_port: ${secure.port}
      - child_match: named.test
      - exact_match: stranger.test
  - name: sniopen
    type: sni_proxy
    listen: 127.0.0.1:0
    escaper: direct
    server_tcp_portmap: { 443: https, 80: [http] }
`;
    d = await startDaemon({ files: { 'main.yaml': yaml } });
    for (const n of ['ts', 'tsrr', 'tstls', 'tsbadname', 'tsauth', 'tsdeny', 'tsidle', 'tsslow', 'tls', 'sni', 'snismall', 'snidefault', 'sniauth', 'sniopen']) port[n] = await d.port(n);
  });

  after(async () => {
    await d?.stop();
    await Promise.all([a?.close(), b?.close(), plain?.close(), secure?.close(), echo?.close()]);
    await new Promise<void>((r) => (alt ? alt.close(() => r()) : r()));
    for (const p of [pkiS, pkiT]) if (p) removePki(p);
  });

  const task = (server: string, pred: (f: Record<string, string>, msg: string) => boolean = () => true) =>
    d.waitForTask((r) => r.fields.server_name === server && pred(r.fields, r.msg));

  describe('tcp_stream', () => {
    it('relays a 2MB download and logs one TcpConnect task with its byte counts', async () => {
      const r = await curl(['-s', '--max-time', '10', `http://127.0.0.1:${port.ts}/bytes?n=2000000`]);
      assert.equal(r.code, 0);
      assert.equal(sha(Buffer.from(r.body, 'latin1')), sha(pattern(2_000_000)));
      const t = (await task('ts')).fields;
      assert.equal(t.server_type, 'TcpStream');
      assert.equal(t.task_type, 'TcpConnect');
      assert.equal(t.upstream, `127.0.0.1:${plain.port}`);
      assert.equal(t.escaper, 'direct');
      assert.match(t.reason!, /^Closed(ByClient|ByUpstream)$/);
      assert.ok(Number(t.r_rd_bytes) > 2_000_000);
      assert.equal(t.r_rd_bytes, t.c_wr_bytes);
      assert.equal(t.c_rd_bytes, t.r_wr_bytes);
      assert.ok(t.next_peer_addr?.startsWith('127.0.0.1:'));
    });

    it('picks upstreams round robin', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const r = await curl(['-s', '--max-time', '5', `http://127.0.0.1:${port.tsrr}/`]);
        seen.add(r.body.toString());
      }
      assert.deepEqual([...seen].sort(), ['origin-a', 'origin-b']);
    });

    it('speaks TLS to the upstream, verified against upstream_tls_name', async () => {
      const r = await curl(['-s', '--max-time', '5', `http://127.0.0.1:${port.tstls}/`]);
      assert.equal(r.body.toString(), 'tls-hello');
      const bad = await curl(['-s', '--max-time', '5', `http://127.0.0.1:${port.tsbadname}/`]);
      assert.notEqual(bad.body.toString(), 'tls-hello');
      assert.equal((await task('tsbadname')).fields.reason, 'UpstreamTlsHandshakeFailed');
    });

    it('authenticates by client IP against a facts group', async () => {
      const r = await curl(['-s', '--max-time', '5', `http://127.0.0.1:${port.tsauth}/`]);
      assert.equal(r.body.toString(), 'origin-a');
      assert.equal((await task('tsauth')).fields.user, 'loopback');
      const denied = await exchange(port.tsdeny!, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(denied.got.length, 0);
      const t = (await task('tsdeny')).fields;
      assert.equal(t.reason, 'ClientAuthFailed');
      assert.equal(t.upstream, `127.0.0.1:${a.port}`);
    });

    it('closes a tunnel idle for task_idle_max_count checks as Idle', async () => {
      const r = await exchange(port.tsidle!, 'ping', 10_000);
      assert.equal(r.got.toString(), 'ping');
      assert.ok(r.closedAfterMs >= 1900 && r.closedAfterMs < 6500, `closed after ${r.closedAfterMs}ms`);
      assert.equal((await task('tsidle')).fields.reason, 'Idle');
    });

    it('holds a download to tcp_sock_speed_limit', async () => {
      const t0 = Date.now();
      const r = await curl(['-s', '--max-time', '10', `http://127.0.0.1:${port.tsslow}/bytes?n=262144`]);
      assert.equal(r.body.length, 262144);
      // 32KiB per 128ms slice: 256KiB needs about 7 slices beyond the first
      assert.ok(Date.now() - t0 >= 700, `took ${Date.now() - t0}ms`);
    });
  });

  describe('tls_stream', () => {
    it('terminates TLS (curl) and relays the clear stream', async () => {
      const r = await curl(['-s', '--max-time', '5', '--cacert', pkiT.files.caCert, '--resolve', `stream.test:${port.tls}:127.0.0.1`, `https://stream.test:${port.tls}/`]);
      assert.equal(r.code, 0);
      assert.equal(r.body.toString(), 'origin-b');
      const t = (await task('tls')).fields;
      assert.equal(t.server_type, 'TlsStream');
      assert.equal(t.upstream, `127.0.0.1:${b.port}`);
    });

    it('ends a bad handshake as one task and keeps serving', async () => {
      const before = d.taskLogs().length;
      await exchange(port.tls!, Buffer.from('\x16\x03\x01\x00\x05hello'));
      const t = (await task('tls', (f) => f.reason === 'InvalidClientProtocol')).fields;
      assert.equal(t.upstream, undefined);
      assert.ok(d.taskLogs().length > before);
      assert.match(await tlsGet(port.tls!, 'stream.test', pkiT.caCert), /origin-b$/);
    });
  });

  describe('sni_proxy', () => {
    it('routes a TLS ClientHello by SNI (curl --resolve) with redirect_host/redirect_port', async () => {
      const r = await curl(['-s', '--max-time', '5', '--cacert', pkiS.files.caCert, '--resolve', `secure.test:${port.sni}:127.0.0.1`, `https://secure.test:${port.sni}/`]);
      assert.equal(r.code, 0);
      assert.equal(r.body.toString(), 'tls-hello');
      const t = (await task('sni', (f) => f.upstream === `127.0.0.1:${secure.port}`)).fields;
      assert.equal(t.server_type, 'SniProxy');
      assert.equal(t.task_type, 'TcpConnect');
      assert.ok(Number(t.c_rd_bytes) > 100, 'the replayed ClientHello is counted');
    });

    it('routes an HTTP/1 request by Host, replaying it unchanged', async () => {
      const r = await curl(['-s', '--max-time', '5', '--resolve', `www.plain.test:${port.sni}:127.0.0.1`, `http://www.plain.test:${port.sni}/headers`]);
      assert.equal(r.code, 0);
      assert.equal(JSON.parse(r.body.toString()).host, `www.plain.test:${port.sni}`);
    });

    it('connects to the SNI host on the port the client connected to', async () => {
      assert.equal(port.snidefault, altPort);
      assert.match(await tlsGet(altPort, 'origin.test', pkiS.caCert), /alt$/);
      assert.equal((await task('snidefault')).fields.upstream, `127.0.0.2:${altPort}`);
    });

    it('routes by Host port when no allowed_hosts is set', async () => {
      const r = await exchange(port.sniopen!, `GET / HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\n\r\n`);
      assert.match(r.got.toString(), /^HTTP\/1\.1 200[\s\S]*hello$/);
    });

    it('routes a ClientHello split over records and TCP segments', async () => {
      const relay = await splittingRelay(port.sni!, 40, 7);
      try {
        const text = await tlsGet(relay.port, 'secure.test', pkiS.caCert);
        assert.match(text, /tls-hello$/);
      } finally {
        await relay.close();
      }
    });

    it('authenticates by the server name after redirection (g3 matches the redirected host)', async () => {
      // secure.test is redirected to 127.0.0.1, which the ip fact matches
      assert.match(await tlsGet(port.sniauth!, 'secure.test', pkiS.caCert), /tls-hello$/);
      assert.equal((await task('sniauth', (f) => f.reason !== 'ClientAuthFailed')).fields.user, 'by-ip');
      // a name no fact matches is refused before any connect
      await tlsGet(port.sniauth!, 'stranger.test', pkiS.caCert).catch(() => '');
      const t = (await task('sniauth', (f) => f.reason === 'ClientAuthFailed')).fields;
      assert.equal(t.upstream, `stranger.test:${port.sniauth}`);
      assert.equal(t.escaper, undefined);
    });

    it('refuses hosts outside allowed_hosts', async () => {
      const r = await curl(['-s', '--max-time', '5', '-k', '--resolve', `other.test:${port.sni}:127.0.0.1`, `https://other.test:${port.sni}/`]);
      assert.notEqual(r.code, 0);
      const t = (await task('sni', (f) => f.reason === 'ForbiddenByRule')).fields;
      assert.equal(t.upstream, `other.test:${port.sni}`);
    });

    it('logs hostile first bytes with their reason and keeps serving', async () => {
      await exchange(port.sni!, Buffer.from([0x00, 0x01, 0x02, 0xff]));
      await task('sni', (f, m) => f.reason === 'InvalidClientProtocol' && /unable to detect client protocol/.test(m));

      // a ClientHello larger than tls_max_client_hello_size
      const big = await tlsGet(port.snismall!, 'secure.test', pkiS.caCert).catch((e: Error) => e.message);
      assert.doesNotMatch(big, /tls-hello/);
      await task('snismall', (f, m) => f.reason === 'InvalidClientProtocol' && /exceeds the limit of 128/.test(m));

      // no SNI: node sends none to an IP address
      await new Promise<void>((resolve) => {
        const t = tlsConnect({ host: '127.0.0.1', port: port.sniopen!, rejectUnauthorized: false });
        t.on('error', () => resolve());
        t.on('close', () => resolve());
      });
      await task('sniopen', (f, m) => f.reason === 'InvalidClientProtocol' && /no server name/.test(m));

      // HTTP without Host
      await exchange(port.sniopen!, 'GET / HTTP/1.0\r\n\r\n');
      await task('sniopen', (f, m) => f.reason === 'InvalidClientProtocol' && /no host header/.test(m));

      const r = await curl(['-s', '--max-time', '5', '--resolve', `api.plain.test:${port.sni}:127.0.0.1`, `http://api.plain.test:${port.sni}/`]);
      assert.equal(r.body.toString(), 'hello');
    });

    it('times out silence (request_wait_timeout) and a stalled hello (request_recv_timeout)', async () => {
      const silent = await exchange(port.sni!, null);
      assert.ok(silent.closedAfterMs >= 1400, `closed after ${silent.closedAfterMs}ms`);
      await task('sni', (f, m) => f.reason === 'ClientAppTimeout' && /timeout to wait client request/.test(m));
      const stalled = await exchange(port.sni!, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
      assert.ok(stalled.closedAfterMs >= 900 && stalled.closedAfterMs < 1400, `closed after ${stalled.closedAfterMs}ms`);
      await task('sni', (f, m) => f.reason === 'ClientAppTimeout' && /timeout to receive full client request/.test(m));
    });
  });
});

describe('tcp_stream reload', () => {
  it('applies a new upstream to new connections in place, keeping the listener and live tunnels', async () => {
    const echo = await startEchoServer();
    const origin = await startOrigin();
    const conf = (up: number) => `
${baseConfig({ directDefault: 'forbid' })}server:
  - name: r
    type: tcp_stream
    listen: 127.0.0.1:0
    escaper: direct
    upstream: 127.0.0.1:${up}
`;
    const d = await startDaemon({ files: { 'main.yaml': conf(echo.port) } });
    try {
      const p = await d.port('r');
      const tunnel = netConnect(p, '127.0.0.1');
      tunnel.on('error', () => {});
      const echoed = (text: string) => new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no echo')), 5000);
        tunnel.once('data', (b: Buffer) => {
          clearTimeout(timer);
          resolve(b.toString());
        });
        tunnel.write(text);
      });
      assert.equal(await echoed('before'), 'before');
      d.writeFile('main.yaml', conf(origin.port));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload done/);
      assert.equal(await d.port('r'), p);
      assert.equal(await echoed('after'), 'after', 'the live tunnel still goes to the old upstream');
      const r = await curl(['-s', '--max-time', '5', `http://127.0.0.1:${p}/`]);
      assert.equal(r.body, 'hello');
      tunnel.destroy();
    } finally {
      await d.stop();
      await echo.close();
      await origin.close();
    }
  });
});
