/**
 * http_rproxy options from g3 end to end: `user_group` (Basic auth answered 401 + WWW-Authenticate, the
 * Authorization header not forwarded), `untrusted_read_speed_limit`, `no_early_error_reply` (auth failures,
 * unknown sites, broken first requests closed without a word), `pipeline_size` (reading pauses once that many
 * requests wait) and `tcp_sock_speed_limit` (download and upload of a client connection held to the limit).
 */
import { execFile } from 'node:child_process';
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { baseConfig, curl, defaultRoutes, readUntil, runSluice, startDaemon, startOrigin, tcpConnect, type DaemonHandle, type Origin } from '@sluice/testkit';
import { TOOR_FAST } from '../user_auth/config.js';
import { startRawChunkOrigin } from '../http_proxy_g3opts/raw-chunk-origin.js';

const BASIC = `Basic ${Buffer.from('root:toor').toString('base64')}`;

function yaml(origin: Origin, rawPort: number): string {
  return `
${baseConfig()}user_group:
  - name: users
    static_users:
      - name: root
        token:
          salt: ${TOOR_FAST.salt}
          md5: ${TOOR_FAST.md5}
          sha1: ${TOOR_FAST.sha1}
server:
  - name: authgw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: users
    auth_realm: gateway
    untrusted_read_speed_limit:
      shift_millis: 7
      upload: 4096
      download: 1048576
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
  - name: hiddengw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    user_group: users
    no_early_error_reply: true
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
  - name: opengw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    no_early_error_reply: true
    pipeline_size: 2
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
  - name: pipegw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
  - name: linegw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    body_line_max_length: 128
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
      - exact_match: raw.test
        upstream: 127.0.0.1:${rawPort}
  - name: slowgw
    type: http_rproxy
    listen: 127.0.0.1:0
    escaper: direct
    tcp_sock_speed_limit:
      shift_millis: 7
      upload: 16384
      download: 16384
    hosts:
      - exact_match: site.test
        upstream: 127.0.0.1:${origin.port}
`;
}

function get(port: number, path: string, opts: { method?: string; body?: Buffer | string; agent?: Agent; headers?: Record<string, string> } = {}): Promise<{ res: IncomingMessage; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: opts.agent ?? false, headers: { host: 'site.test', ...(opts.headers ?? {}) }, timeout: 20_000 }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ res, body, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Everything the server sends on a fresh connection after `data`, until it closes (bounded). */
async function exchange(port: number, data: string, timeoutMs = 3000): Promise<string> {
  const s = await tcpConnect(port);
  s.on('error', () => {});
  s.write(data);
  const out = await readUntil(s, () => false, timeoutMs);
  s.destroy();
  return out.toString('latin1');
}

describe('http_rproxy g3 options', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let raw: Awaited<ReturnType<typeof startRawChunkOrigin>>;
  let stalls = 0;
  let releaseStall: (() => void) | null = null;

  before(async () => {
    origin = await startOrigin((req, res) => {
      if (req.url === '/stall') {
        // answered only when the test says so: requests pipelined behind it wait in the gateway
        stalls++;
        releaseStall = () => {
          res.writeHead(200, { 'content-length': 7 });
          res.end('stalled');
        };
        req.resume();
        return;
      }
      defaultRoutes(req, res);
    });
    raw = await startRawChunkOrigin();
    d = await startDaemon({ files: { 'main.yaml': yaml(origin, raw.port) } });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await raw?.close();
  });

  it('user_group: no credentials get 401 with WWW-Authenticate; good ones pass and are not forwarded', async () => {
    const port = await d.port('authgw');
    const r = await get(port, '/headers');
    assert.equal(r.res.statusCode, 401);
    assert.equal(r.res.headers['www-authenticate'], 'Basic realm="gateway"');
    assert.equal(r.res.headers['proxy-authenticate'], undefined);
    const ok = await get(port, '/headers', { headers: { authorization: BASIC } });
    assert.equal(ok.res.statusCode, 200);
    const seen = JSON.parse(ok.body) as Record<string, string>;
    assert.equal(seen.authorization, undefined, 'the gateway credentials stay at the gateway');
    assert.equal(seen.host, 'site.test');
    const log = await d.waitForTask((t) => t.fields.server_name === 'authgw' && t.fields.user === 'root');
    assert.equal(log.fields.reason, 'Finished');
    // curl's --user speaks to a web server: Authorization, after a 401
    const c = await curl(['--user', 'root:toor', '-H', 'Host: site.test', `http://127.0.0.1:${port}/`]);
    assert.equal(c.status, 200, c.stderr);
    assert.equal(c.body, 'hello');
    const bad = await curl(['--user', 'root:wrong', '-H', 'Host: site.test', `http://127.0.0.1:${port}/`]);
    assert.equal(bad.status, 401);
  });

  it('user_group: an unknown site is not revealed before authentication', async () => {
    const port = await d.port('authgw');
    const r = await get(port, '/', { headers: { host: 'other.test' } });
    assert.equal(r.res.statusCode, 401);
    const authed = await get(port, '/', { headers: { host: 'other.test', authorization: BASIC } });
    assert.equal(authed.res.statusCode, 400);
  });

  it('untrusted_read_speed_limit: 401 at once, the body drained at the limit, the connection kept for the retry', async () => {
    const port = await d.port('authgw');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.alloc(40 * 1024, 0x62);
      const start = Date.now();
      const a = await get(port, '/echo', { method: 'POST', body, agent });
      assert.equal(a.res.statusCode, 401);
      assert.ok(Date.now() - start < 1000, '401 before the body is drained');
      const b = await get(port, '/echo', { method: 'POST', body: 'second', agent, headers: { authorization: BASIC } });
      const took = Date.now() - start;
      assert.equal(b.res.statusCode, 200);
      assert.equal(b.body, 'second');
      assert.equal(b.reused, true, 'the retry used the kept connection');
      // 40 KiB at 4 KiB per 128 ms, one slice of burst: at least about 1.1 s
      assert.ok(took >= 900, `drained in ${took}ms`);
    } finally {
      agent.destroy();
    }
  });

  it('no_early_error_reply: bad credentials, an unknown site and a broken first request get a close, no bytes', async () => {
    const hidden = await d.port('hiddengw');
    assert.equal(await exchange(hidden, 'GET / HTTP/1.1\r\nHost: site.test\r\n\r\n'), '');
    assert.equal(await exchange(hidden, `GET / HTTP/1.1\r\nHost: site.test\r\nAuthorization: Basic ${Buffer.from('root:x').toString('base64')}\r\n\r\n`), '');
    const ok = await exchange(hidden, `GET / HTTP/1.1\r\nHost: site.test\r\nAuthorization: ${BASIC}\r\nConnection: close\r\n\r\n`);
    assert.match(ok, /^HTTP\/1\.1 200/);
    const open = await d.port('opengw');
    assert.equal(await exchange(open, 'GET / HTTP/1.1\r\nHost: nowhere.test\r\n\r\n'), '');
    assert.equal(await exchange(open, 'GARBAGE\r\n\r\n'), '');
    assert.match(await exchange(open, 'GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200/);
  });

  it('pipeline_size: with 2 requests waiting behind a slow one the gateway stops reading (kernel Recv-Q grows)', async () => {
    /** Bytes the kernel holds unread for the gateway's side of the connection from client port `peer`. */
    const recvQ = (port: number, peer: number) => new Promise<number>((resolve, reject) =>
      execFile('ss', ['-tnH', 'state', 'established', `( sport = :${port} and dport = :${peer} )`], (e, out) =>
        (e ? reject(e) : resolve(Number(out.trim().split(/\s+/)[0] ?? NaN)))));
    const unreadAfterPipelining = async (server: string): Promise<number> => {
      const port = await d.port(server);
      const s: Socket = await tcpConnect(port);
      s.on('error', () => {});
      const before = stalls;
      s.write('GET /stall HTTP/1.1\r\nHost: site.test\r\n\r\n');
      const deadline = Date.now() + 3000;
      while (stalls === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(stalls, before + 1, 'the first request reached the origin');
      // three heads wait behind the stalled request; what comes after them is read only below pipeline_size
      // (160 KiB: under the gateway's 256 KiB queue bound, over what node buffers in a paused socket)
      s.write('GET /p HTTP/1.1\r\nHost: site.test\r\n\r\n'.repeat(3));
      await new Promise((r) => setTimeout(r, 150));
      s.write(Buffer.alloc(160 * 1024, 0x20));
      await new Promise((r) => setTimeout(r, 300));
      const q = await recvQ(port, s.localPort!);
      s.destroy();
      releaseStall?.();
      return q;
    };
    assert.ok(await unreadAfterPipelining('opengw') >= 32 * 1024, 'pipeline_size 2: the gateway stopped reading');
    assert.equal(await unreadAfterPipelining('pipegw'), 0, 'default pipeline_size 10: the gateway read on');
  });

  it('tcp_sock_speed_limit: a client connection gets at most the download limit', async () => {
    const port = await d.port('slowgw');
    // 256 KiB at 16 KiB per 128 ms (128 KiB/s); a read already made is passed on whole (up to 64 KiB), and one
    // slice is burst: at least about 1.3 s
    const n = 256 * 1024;
    const start = Date.now();
    const r = await get(port, `/bytes?n=${n}`);
    const took = Date.now() - start;
    assert.equal(r.res.statusCode, 200);
    assert.equal(r.body.length, n);
    assert.ok(took >= 1000 && took < 8000, `256 KiB came in ${took}ms`);
    const up = Date.now();
    const echo = await get(port, '/echo', { method: 'POST', body: Buffer.alloc(n, 0x63) });
    const upTook = Date.now() - up;
    assert.equal(echo.body.length, n);
    assert.ok(upTook >= 1000, `the upload took ${upTook}ms`);
  });

  it('body_line_max_length: a chunk line over the limit gets 400 (request) / 502 (response); up to it passes', async () => {
    const port = await d.port('linegw');
    const line = (n: number) => `5;x=${'e'.repeat(n - 4)}`;
    const post = (n: number) => `POST /echo HTTP/1.1\r\nHost: site.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${line(n)}\r\nhello\r\n0\r\n\r\n`;
    assert.match(await exchange(port, post(128)), /^HTTP\/1\.1 200[\s\S]*hello/);
    assert.match(await exchange(port, post(129)), /^HTTP\/1\.1 400 /);
    const ok = await curl(['-H', 'Host: raw.test', `http://127.0.0.1:${port}/line/128`]);
    assert.equal(ok.status, 200, ok.stderr);
    assert.equal(ok.body, 'chunky');
    const bad = await curl(['-H', 'Host: raw.test', `http://127.0.0.1:${port}/line/129`]);
    assert.equal(bad.status, 502, bad.stderr);
  });

  it('sluice -t accepts g3\'s simple_http_gateway shape (tcp_sock_speed_limit as a size)', async () => {
    d.writeFile('gateway/main.yaml', `
resolver:
  - name: default
    type: c-ares
escaper:
  - name: default
    type: direct_fixed
    no_ipv6: true
    resolver: default
    resolve_strategy: IPv4Only
    tcp_sock_speed_limit: 80M
    egress_network_filter:
      default: allow
      allow:
        - 127.0.0.1
server:
  - name: test
    escaper: default
    type: http_rproxy
    listen:
      address: "[::]:10080"
    tcp_sock_speed_limit: 100M
    pipeline_size: 4
    no_early_error_reply: true
    hosts:
      - exact_match: www.example.net
        upstream: www.example.net:80
`);
    const r = await runSluice(['-t', '-c', `${d.dir}/gateway/main.yaml`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
  });
});
