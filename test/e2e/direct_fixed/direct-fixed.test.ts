/**
 * direct_fixed and the error statuses an http_proxy client sees: refused (521), no response head in time (504),
 * a broken upstream (502), unknown name (530); bind_ip as seen by the origin; resolve_strategy; the c-ares cache
 * keeping an answer between positive_min_ttl and positive_max_ttl.
 */
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, startDaemon, startDnsmasq, startOrigin } from '@sluice/testkit';

async function rawServer(onConn: (s: import('node:net').Socket) => void, host = '127.0.0.1'): Promise<{ port: number; close(): void }> {
  const srv = createServer(onConn);
  await new Promise<void>((r) => srv.listen(0, host, r));
  return { port: (srv.address() as AddressInfo).port, close: () => srv.close() };
}

describe('http_proxy error statuses through direct_fixed', () => {
  it('521 refused, 504 no head, 502 garbage, each with a task log reason', async () => {
    const closed = await rawServer(() => {});
    const closedPort = closed.port;
    closed.close(); // nothing listens there now
    const silent = await rawServer((s) => s.on('data', () => {})); // reads, never answers
    const garbage = await rawServer((s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')));
    const d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares}]
escaper:
  - {name: direct, type: direct_fixed, resolver: dns, egress_net_filter: {default: allow, allow: 127.0.0.1}}
server:
  - {name: http, type: http_proxy, listen: 127.0.0.1:0, escaper: direct, rsp_header_recv_timeout: 1s}
`,
      },
    });
    try {
      const port = await d.port('http');
      const refused = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${closedPort}/`]);
      assert.equal(refused.status, 521);
      let log = await d.waitForTask((l) => l.fields.upstream === `127.0.0.1:${closedPort}`);
      assert.equal(log.fields.reason, 'UpstreamNotConnected');
      assert.equal(log.fields.stage, 'Connecting');

      const slow = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${silent.port}/`]);
      assert.equal(slow.status, 504);
      log = await d.waitForTask((l) => l.fields.upstream === `127.0.0.1:${silent.port}`);
      assert.equal(log.fields.reason, 'UpstreamAppTimeout');

      const bad = await curl(['-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${garbage.port}/`]);
      assert.equal(bad.status, 502);
      log = await d.waitForTask((l) => l.fields.upstream === `127.0.0.1:${garbage.port}`);
      assert.equal(log.fields.reason, 'InvalidUpstreamProtocol');

      // CONNECT to a refused port: the same mapping
      const c = await curl(['-p', '-x', `http://127.0.0.1:${port}`, `http://127.0.0.1:${closedPort}/`]);
      assert.match(c.stderr, /521/);
    } finally {
      await d.stop();
      silent.close();
      garbage.close();
    }
  });
});

describe('direct_fixed options', () => {
  it('binds to bind_ip and follows resolve_strategy', async () => {
    const origin = await startOrigin();
    const v6 = await rawServer((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nv6')), '::1');
    const dns = await startDnsmasq({ 'dual.sluice.test': ['127.0.0.1', '::1'] });
    const d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares, server: "127.0.0.1:${dns.port}"}]
escaper:
  - name: bound
    type: direct_fixed
    resolver: dns
    bind_ip: 127.0.0.2
    egress_net_filter: {default: allow, allow: [127.0.0.0/8, "::1"]}
  - name: v6
    type: direct_fixed
    resolver: dns
    resolve_strategy: {query: Ipv6Only}
    egress_net_filter: {default: allow, allow: [127.0.0.0/8, "::1"]}
server:
  - {name: bound, type: http_proxy, listen: 127.0.0.1:0, escaper: bound}
  - {name: v6, type: http_proxy, listen: 127.0.0.1:0, escaper: v6}
`,
      },
    });
    try {
      const echoAddr = await startOrigin((req, res) => {
        const body = req.socket.remoteAddress ?? '';
        res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      const r = await curl(['-x', `http://127.0.0.1:${await d.port('bound')}`, `http://127.0.0.1:${echoAddr.port}/`]);
      assert.equal(r.body, '127.0.0.2', 'the origin saw the bind address');
      const log = await d.waitForLog((l) => l.fields.server_name === 'bound');
      assert.equal(log.fields.next_bind_ip, '127.0.0.2');
      assert.match(log.fields.next_bound_addr!, /^127\.0\.0\.2:\d+$/);
      await echoAddr.close();

      const r6 = await curl(['-x', `http://127.0.0.1:${await d.port('v6')}`, `http://dual.sluice.test:${v6.port}/`]);
      assert.equal(r6.body, 'v6', 'Ipv6Only reached the ::1 listener');
      const log6 = await d.waitForLog((l) => l.fields.server_name === 'v6');
      assert.equal(log6.fields.next_peer_addr, `[::1]:${v6.port}`);
    } finally {
      await d.stop();
      await origin.close();
      v6.close();
      await dns.close();
    }
  });

  it('picks the bind address from egress_path_selection_header (forward and CONNECT)', async () => {
    const seenBy = await startOrigin((req, res) => {
      const body = `${req.socket.remoteAddress}|${req.headers['x-egress-path'] ?? ''}`;
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    const d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares}]
escaper:
  - name: paths
    type: direct_fixed
    resolver: dns
    bind_ip: [127.0.0.2, 127.0.0.3]
    enable_path_selection: true
    egress_net_filter: {default: allow, allow: 127.0.0.1}
server:
  - {name: http, type: http_proxy, listen: 127.0.0.1:0, escaper: paths, egress_path_selection_header: X-Egress-Path}
`,
      },
    });
    try {
      const port = await d.port('http');
      const url = `http://127.0.0.1:${seenBy.port}/`;
      assert.equal((await curl(['-x', `http://127.0.0.1:${port}`, '-H', 'X-Egress-Path: 1', url])).body, '127.0.0.2|', 'id 1 is the first bind_ip; the header is not forwarded');
      assert.equal((await curl(['-x', `http://127.0.0.1:${port}`, '-H', 'X-Egress-Path: 2', url])).body, '127.0.0.3|');
      assert.equal((await curl(['-p', '-x', `http://127.0.0.1:${port}`, '--proxy-header', 'X-Egress-Path: 2', url])).body, '127.0.0.3|', 'CONNECT too');
      const bad = await curl(['-x', `http://127.0.0.1:${port}`, '-H', 'X-Egress-Path: two', url]);
      assert.equal(bad.status, 400);
      const log = await d.waitForTask((l) => l.fields.rsp_status === '400');
      assert.equal(log.fields.reason, 'InvalidClientProtocol');
    } finally {
      await d.stop();
      await seenBy.close();
    }
  });

  it('enforces tcp_sock_speed_limit on the upstream socket', async () => {
    const origin = await startOrigin();
    const d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver: [{name: dns, type: c-ares}]
escaper:
  - name: slow
    type: direct_fixed
    resolver: dns
    egress_net_filter: {default: allow, allow: 127.0.0.1}
    tcp_sock_speed_limit: {shift_millis: 8, upload: 1M, download: 16K}   # download 16000 bytes per 256 ms slice
  - name: fast
    type: direct_fixed
    resolver: dns
    egress_net_filter: {default: allow, allow: 127.0.0.1}
server:
  - {name: slow, type: http_proxy, listen: 127.0.0.1:0, escaper: slow}
  - {name: fast, type: http_proxy, listen: 127.0.0.1:0, escaper: fast}
`,
      },
    });
    try {
      const n = 160_000;
      const t0 = Date.now();
      const fast = await curl(['-x', `http://127.0.0.1:${await d.port('fast')}`, `${origin.url}/bytes?n=${n}`]);
      const fastMs = Date.now() - t0;
      assert.equal(fast.body.length, n);
      const t1 = Date.now();
      const slow = await curl(['-x', `http://127.0.0.1:${await d.port('slow')}`, `${origin.url}/bytes?n=${n}`]);
      const slowMs = Date.now() - t1;
      assert.equal(slow.body.length, n, 'the limited download is complete');
      // 160 kB at 16 kB per 256 ms needs about 2.3 s after the first slice; allow wide scheduling slack
      assert.ok(slowMs >= 1500, `limited download took ${slowMs} ms (unlimited: ${fastMs} ms)`);
    } finally {
      await d.stop();
      await origin.close();
    }
  });

  it('caches answers within the TTL bounds', async () => {
    const dns = await startDnsmasq({ 'moving.sluice.test': ['127.0.0.1'] });
    const d = await startDaemon({
      files: {
        'main.yaml': `
resolver:
  - {name: sticky, type: c-ares, server: "127.0.0.1:${dns.port}", positive_min_ttl: 300}
  - {name: brief, type: c-ares, server: "127.0.0.1:${dns.port}", positive_min_ttl: 0, positive_max_ttl: 1}
`,
      },
    });
    try {
      const q = (r: string) => d.call<{ ip?: string[] }>('resolver_query', { name: r, domain: 'moving.sluice.test', strategy: 'ipv4_only' });
      assert.deepEqual((await q('sticky')).ip, ['127.0.0.1']);
      assert.deepEqual((await q('brief')).ip, ['127.0.0.1']);
      await dns.update({ 'moving.sluice.test': ['127.0.0.9'] });
      assert.deepEqual((await q('sticky')).ip, ['127.0.0.1'], 'still cached');
      await new Promise((r) => setTimeout(r, 1300));
      assert.deepEqual((await q('brief')).ip, ['127.0.0.9'], 'expired after positive_max_ttl');
      assert.deepEqual((await q('sticky')).ip, ['127.0.0.1'], 'held for positive_min_ttl');
    } finally {
      await d.stop();
      await dns.close();
    }
  });
});
