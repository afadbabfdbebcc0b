/**
 * Escapers end to end, against real upstream proxies started here on 127.0.0.1: squid behind proxy_http (basic
 * auth), dante behind proxy_socks5 (with and without RFC 1929 auth), a second sluice behind proxy_https (through a
 * TLS terminator, as the http_proxy server has no tls_server yet) and behind proxy_http (a two-hop chain). Each
 * chain is proven by the upstream's own log. Routing escapers send traffic to direct escapers bound to different
 * loopback addresses, so the origin's view of the source address tells which escaper carried a request.
 */
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { connect, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, makePki, removePki, runSluice, startDaemon, type DaemonHandle, type TestPki } from '@sluice/testkit';
import { buildMmdb } from './mmdb-writer.js';
import { ensureSystemUser, freePort, startAddrOrigin, startDante, startSquid, type Peer } from './peers.js';

const SOCKS_USER = 'sluicesocks';
const SOCKS_PASS = 'dante-Pw1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** direct_fixed bound to a loopback address; the test's `.test` names answer 127.0.0.1. */
function bound(name: string, ip: string): string {
  return `  - name: ${name}
    type: direct_fixed
    resolver: default
    bind_ip: ${ip}
    egress_network_filter: { default: allow, allow: 127.0.0.0/8 }
    resolve_redirection:
      exact.test: 127.0.0.1
      a.b.child.test: 127.0.0.1
      api42.rx.test: 127.0.0.1
      www.rx.test: 127.0.0.1
`;
}

describe('escapers', () => {
  let origin: Awaited<ReturnType<typeof startAddrOrigin>>;
  let origin6: Awaited<ReturnType<typeof startAddrOrigin>>;
  let squid: Peer;
  let dante: Peer;
  let danteAuth: Peer;
  let upstream: DaemonHandle;
  let d: DaemonHandle;
  let pki: TestPki;
  let tlsFront: ReturnType<typeof createTlsServer>;
  let tlsFrontPort: number;
  const tlsNames: string[] = [];
  const tlsClientCns: string[] = [];
  const socksTlsNames: string[] = [];
  let socksFront: ReturnType<typeof createTlsServer>;
  let stallPort: number;
  let stallServer: ReturnType<typeof import('node:net').createServer>;
  let agent: ReturnType<typeof createSocket>;
  const agentQueries: string[] = [];
  let tmp: string;
  let ppServer: ReturnType<typeof import('node:net').createServer>;
  const ppHeaders: string[] = [];
  let redis: ChildProcess;
  let redisPort: number;
  const port = (s: string) => d.port(s);

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sluice-esc-'));
    origin = await startAddrOrigin('127.0.0.1');
    origin6 = await startAddrOrigin('127.0.0.6');
    ensureSystemUser(SOCKS_USER, SOCKS_PASS);
    [squid, dante, danteAuth] = await Promise.all([startSquid('squser', 'sq-pass'), startDante(false), startDante(true)]);

    // the second sluice: a plain http_proxy going direct; its task log proves the chain
    upstream = await startDaemon({ files: { 'main.yaml': `
runtime: { server_offline_delay: 0, task_wait_delay: 0, task_wait_timeout: 5s }
log: stdout
resolver:
  - { name: default, type: c-ares }
escaper:
  - name: direct
    type: direct_fixed
    resolver: default
    egress_network_filter: { default: allow, allow: 127.0.0.0/8 }
server:
  - { name: up, type: http_proxy, listen: 127.0.0.1:0, escaper: direct }
  - { name: upsocks, type: socks_proxy, listen: 127.0.0.1:0, escaper: direct }
` } });
    const upPort = await upstream.port('up');

    // TLS in front of the second sluice, so proxy_https has an HTTPS proxy to talk to
    pki = makePki(['localhost'], ['127.0.0.1']);
    // mTLS: the front only lets in clients with a certificate from the test CA
    const front = async (target: number, names: string[], peers: string[]) => {
      const srv = createTlsServer({ key: pki.key, cert: pki.cert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
        names.push((s as TLSSocket & { servername?: string }).servername ?? '');
        peers.push(String(s.getPeerCertificate().subject?.CN ?? ''));
        const b = connect(target, '127.0.0.1');
        s.pipe(b).pipe(s);
        s.on('error', () => b.destroy());
        b.on('error', () => s.destroy());
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      return srv;
    };
    tlsFront = await front(upPort, tlsNames, tlsClientCns);
    tlsFrontPort = (tlsFront.address() as AddressInfo).port;
    // SOCKS5 over TLS: the TLS front hands the stream to the second sluice's socks_proxy server
    socksFront = await front(await upstream.port('upsocks'), socksTlsNames, []);
    const socksFrontPort = (socksFront.address() as AddressInfo).port;

    // a "proxy" that accepts and never answers: the failover primary that hangs
    const net = await import('node:net');
    stallServer = net.createServer(() => {});
    await new Promise<void>((r) => stallServer.listen(0, '127.0.0.1', r));
    stallPort = (stallServer.address() as AddressInfo).port;
    const deadPort = await freePort();

    // a fake next proxy that expects a PROXY v1 header before the CONNECT, then tunnels to the target
    ppServer = net.createServer((c) => {
      let buf = '';
      const onData = (chunk: Buffer) => {
        buf += chunk.toString('latin1');
        if (!buf.includes('\r\n\r\n')) return; // header and CONNECT may arrive in separate segments
        c.off('data', onData);
        ppHeaders.push(buf.slice(0, buf.indexOf('\r\n') + 2));
        const m = /CONNECT 127\.0\.0\.1:(\d+) /.exec(buf);
        if (!m) return void c.destroy();
        const b = net.connect(Number(m[1]), '127.0.0.1', () => {
          c.write('HTTP/1.1 200 Connection established\r\n\r\n');
          c.pipe(b).pipe(c);
        });
        b.on('error', () => c.destroy());
      };
      c.on('data', onData);
      c.on('error', () => {});
    });
    await new Promise<void>((r) => ppServer.listen(0, '127.0.0.1', r));
    const ppPort = (ppServer.address() as AddressInfo).port;

    // redis holding proxy_float peers as JSON members of a set
    redisPort = await freePort();
    redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        if (execFileSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG') break;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    execFileSync('redis-cli', ['-p', String(redisPort), 'sadd', 'peers', JSON.stringify({ type: 'http', addr: `127.0.0.1:${upPort}`, id: 'up' })]);

    // route_query agent: answers every query with node "b5", ttl 60
    agent = createSocket('udp4');
    agent.on('message', (msg, rinfo) => {
      agentQueries.push(msg.toString('latin1'));
      const id = msg.subarray(6, 22); // {"id": bin16, ...}: fixmap, fixstr "id", bin8 len 16
      const ans = Buffer.concat([
        Buffer.from([0x83, 0xa2]), Buffer.from('id'), Buffer.from([0xc4, 0x10]), id,
        Buffer.from([0xa5]), Buffer.from('nodes'), Buffer.from([0x91, 0xa2]), Buffer.from('b5'),
        Buffer.from([0xa3]), Buffer.from('ttl'), Buffer.from([0x3c]),
      ]);
      agent.send(ans, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => agent.bind(0, '127.0.0.1', r));
    const agentPort = agent.address().port;

    writeFileSync(join(tmp, 'geo.mmdb'), buildMmdb([
      ['127.0.0.6/32', { country: { iso_code: 'DE' }, continent: { code: 'EU' } }],
      ['127.0.0.1/32', { autonomous_system_number: 64500, country: { iso_code: 'US' } }],
    ]));
    writeFileSync(join(tmp, 'ca.pem'), pki.caCert);
    writeFileSync(join(tmp, 'client.pem'), pki.cert);
    writeFileSync(join(tmp, 'client.key'), pki.key);

    const servers = ['squid', 'squid_bad', 'dante', 'dante_auth', 'https', 'chain', 'rup', 'rclient', 'rresolved', 'rgeo',
      'failover_dead', 'failover_stall', 'rr', 'pfloat', 'dfloat', 'rquery', 'pp', 'rfloat', 'socks_tls'];
    // SOCKS server with UDP ASSOCIATE, chained to dante: UDP through a SOCKS upstream
    const udpServer = `  - { name: socks_udp, type: socks_proxy, listen: 127.0.0.1:0, escaper: dante, use_udp_associate: true }`;
    const esc = {
      squid: 'squid', squid_bad: 'squid_bad', dante: 'dante', dante_auth: 'dante_auth', https: 'https', chain: 'chain',
      rup: 'rup', rclient: 'rclient', rresolved: 'rresolved', rgeo: 'rgeo', failover_dead: 'fo_dead', failover_stall: 'fo_stall',
      rr: 'rr', pfloat: 'pfloat', dfloat: 'dfloat', rquery: 'rquery', pp: 'pp', rfloat: 'rfloat', socks_tls: 'socks_tls',
    } as Record<string, string>;
    const yaml = `
runtime: { server_offline_delay: 0, task_wait_delay: 0, task_wait_timeout: 5s }
log: stdout
resolver:
  - { name: default, type: c-ares }
escaper:
${bound('b2', '127.0.0.2')}${bound('b3', '127.0.0.3')}${bound('b4', '127.0.0.4')}${bound('b5', '127.0.0.5')}
  - name: squid
    type: proxy_http
    proxy_addr: 127.0.0.1:${squid.port}
    proxy_username: squser
    proxy_password: sq-pass
  - name: squid_bad
    type: proxy_http
    proxy_addr: 127.0.0.1:${squid.port}
    proxy_user: squser
    proxy_passwd: wrong
  - name: dante
    type: proxy_socks5
    proxy_addr: 127.0.0.1:${dante.port}
  - name: dante_auth
    type: proxy_socks5
    proxy_addr: 127.0.0.1:${danteAuth.port}
    proxy_username: ${SOCKS_USER}
    proxy_password: ${SOCKS_PASS}
  - name: https
    type: proxy_https
    proxy_addr: 127.0.0.1:${tlsFrontPort}
    tls_name: localhost
    tls_client:
      ca_certificate: ca.pem
      certificate: client.pem
      private_key: client.key
  - name: socks_tls
    type: proxy_socks5s
    proxy_addr: 127.0.0.1:${socksFrontPort}
    tls_name: localhost
    tls_client:
      ca_certificate: ca.pem
      certificate: client.pem
      private_key: client.key
  - name: chain
    type: proxy_http
    proxy_addr:
      - 127.0.0.1:${upPort}
  - name: rup
    type: route_upstream
    exact_match:
      - next: b2
        hosts: [exact.test]
    child_match:
      - next: b3
        domains: [child.test]
    subnet_match:
      b4: [127.0.0.6/32]
    regex_match:
      - next: b5
        rules: [{ parent: rx.test, regex: "^api[0-9]+$" }]
    default_next: dflt
${bound('dflt', '127.0.0.9')}
  - name: rclient
    type: route_client
    exact_match:
      - next: b3
        ips: [127.0.0.1]
    subnet_match:
      - next: b4
        subnets: [127.0.0.8/29]
    default_next: b2
  - name: rresolved
    type: route_resolved
    resolver: default
    lpm_match:
      - next: b3
        networks: [127.0.0.6/32]
    default_next: b2
  - name: rgeo
    type: route_geoip
    resolver: default
    geoip_db: ${join(tmp, 'geo.mmdb')}
    geo_rules:
      - next: b4
        countries: [DE]
      - next: b5
        as_numbers: [64500]
    default_next: b2
  - name: dead_proxy
    type: proxy_http
    proxy_addr: 127.0.0.1:${deadPort}
  - name: stall_proxy
    type: proxy_http
    proxy_addr: 127.0.0.1:${stallPort}
  - name: fo_dead
    type: route_failover
    primary_next: dead_proxy
    standby_next: b3
    fallback_delay: 2s
  - name: fo_stall
    type: route_failover
    primary: stall_proxy
    standby: b3
    fallback_delay: 300ms
  - name: rr
    type: route_select
    next_nodes: [b2, b3]
    next_pick_policy: round_robin
  - name: pfloat
    type: proxy_float
  - name: dfloat
    type: direct_float
    resolver: default
    egress_network_filter: { default: allow, allow: 127.0.0.0/8 }
  - name: pp
    type: proxy_http
    proxy_addr: 127.0.0.1:${ppPort}
    use_proxy_protocol: 1
  - name: rfloat
    type: proxy_float
    source: redis://127.0.0.1:${redisPort}/0?sets_key=peers
    refresh_interval: 200ms
  - name: rquery
    type: route_query
    query_peer_addr: 127.0.0.1:${agentPort}
    query_allowed_next: [b5]
    fallback_node: b2
    cache_request_timeout: 2s
server:
${servers.map((s) => `  - { name: ${s}, type: http_proxy, listen: 127.0.0.1:0, escaper: ${esc[s]} }`).join('\n')}
${udpServer}
`;
    writeFileSync(join(tmp, 'main.yaml'), yaml);
    d = await startDaemon({ configPath: tmp });
  });

  after(async () => {
    await d?.stop();
    await upstream?.stop();
    await Promise.all([squid?.stop(), dante?.stop(), danteAuth?.stop()]);
    await origin?.close();
    await origin6?.close();
    tlsFront?.close();
    socksFront?.close();
    stallServer?.close();
    ppServer?.close();
    redis?.kill('SIGKILL');
    agent?.close();
    if (pki) removePki(pki);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const viaHttp = async (server: string, url: string, extra: string[] = []) => curl(['-x', `http://127.0.0.1:${await port(server)}`, ...extra, url]);
  const viaConnect = async (server: string, url: string, extra: string[] = []) => curl(['-p', '-x', `http://127.0.0.1:${await port(server)}`, ...extra, url]);

  it('proxy_http → squid with basic auth: forward and CONNECT, seen in squid\'s access log', async () => {
    const a = await viaHttp('squid', `${origin.url}/fwd`);
    assert.equal(a.status, 200, a.stderr);
    const b = await viaConnect('squid', `${origin.url}/tunnel`);
    assert.equal(b.status, 200, b.stderr);
    const deadline = Date.now() + 5000;
    while (!(squid.log().includes(`/fwd`) && squid.log().includes('CONNECT')) && Date.now() < deadline) await sleep(100);
    const log = squid.log();
    assert.match(log, new RegExp(`GET ${origin.url}/fwd squser`));
    assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${origin.port} squser`));
    const t = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.server_name === 'squid');
    assert.equal(t.fields.escaper, 'squid');
    assert.equal(t.fields.next_peer_addr, `127.0.0.1:${squid.port}`);
  });

  it('proxy_http with a wrong password: the rejection maps to UpstreamNotNegotiated', async () => {
    const r = await viaConnect('squid_bad', `${origin.url}/x`);
    assert.notEqual(r.status, 200);
    const t = await d.waitForLog((l) => l.fields.server_name === 'squid_bad');
    assert.equal(t.fields.reason, 'UpstreamNotNegotiated');
    // and one Escape log record from the escaper
    const e = await d.waitForLog((l) => l.fields.log_type === 'Escape' && l.fields.escaper_name === 'squid_bad');
    assert.equal(e.fields.escaper_type, 'ProxyHttp');
    assert.equal(e.fields.escape_type, 'TcpConnect');
    assert.equal(e.fields.next_peer_addr, `127.0.0.1:${squid.port}`);
  });

  it('proxy_socks5 → dante without auth, both HTTP forward and CONNECT', async () => {
    const a = await viaHttp('dante', `${origin.url}/s1`);
    assert.equal(a.status, 200, a.stderr);
    assert.equal(a.body, 'from 127.0.0.1');
    const b = await viaConnect('dante', `${origin.url}/s2`);
    assert.equal(b.status, 200, b.stderr);
    await sleep(300);
    const connects = dante.log().split('\n').filter((l) => l.includes('tcp/connect') && l.includes(`127.0.0.1.${origin.port}`));
    assert.ok(connects.length >= 2, dante.log());
  });

  it('proxy_socks5s → a sluice socks_proxy behind TLS (mTLS); the upstream sluice logs the SOCKS task', async () => {
    const r = await viaConnect('socks_tls', `${origin.url}/s5s`);
    assert.equal(r.status, 200, r.stderr);
    assert.ok(socksTlsNames.includes('localhost'));
    const t = await upstream.waitForLog((l) => l.fields.server_name === 'upsocks' && l.fields.upstream === `127.0.0.1:${origin.port}`);
    assert.equal(t.fields.server_type, 'SocksProxy');
  });

  it('proxy_socks5 → dante with username auth; dante logs the user', async () => {
    const r = await viaConnect('dante_auth', `${origin.url}/s3`);
    assert.equal(r.status, 200, r.stderr);
    await sleep(300);
    assert.match(danteAuth.log(), new RegExp(`${SOCKS_USER}.*127\\.0\\.0\\.1\\.${origin.port}`));
  });

  it('proxy_https → sluice behind TLS, verified against tls_name; the upstream sluice logs the task', async () => {
    const r = await viaHttp('https', `${origin.url}/over-tls`);
    assert.equal(r.status, 200, r.stderr);
    assert.ok(tlsNames.includes('localhost'));
    assert.equal(tlsClientCns.length > 0, true, 'the front saw a client certificate');
    const up = await upstream.waitForLog((l) => l.fields.task_type === 'HttpForward' && l.fields.uri === `${origin.url}/over-tls`);
    assert.equal(up.fields.server_name, 'up');
  });

  it('two-hop sluice → sluice chain: forward and CONNECT both show up in the upstream sluice', async () => {
    const a = await viaHttp('chain', `${origin.url}/hop`);
    assert.equal(a.status, 200, a.stderr);
    const b = await viaConnect('chain', `${origin.url}/hop2`);
    assert.equal(b.status, 200, b.stderr);
    await upstream.waitForLog((l) => l.fields.task_type === 'HttpForward' && l.fields.uri === `${origin.url}/hop`);
    await upstream.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.upstream === `127.0.0.1:${origin.port}`);
  });

  it('route_upstream: exact, child, subnet, regex and default each pick their escaper', async () => {
    const p = origin.port;
    const cases: Array<[string, string]> = [
      [`http://exact.test:${p}/`, '127.0.0.2'],
      [`http://a.b.child.test:${p}/`, '127.0.0.3'],
      [`${origin6.url}/`, '127.0.0.4'],
      [`http://api42.rx.test:${p}/`, '127.0.0.5'],
      [`http://www.rx.test:${p}/`, '127.0.0.9'],
    ];
    for (const [url, from] of cases) {
      const r = await viaHttp('rup', url);
      assert.equal(r.status, 200, `${url}: ${r.stderr}`);
      assert.equal(r.body, `from ${from}`, url);
    }
  });

  it('route_client: exact client IP, client subnet, default', async () => {
    assert.equal((await viaHttp('rclient', `${origin.url}/`)).body, 'from 127.0.0.3');
    assert.equal((await viaHttp('rclient', `${origin.url}/`, ['--interface', '127.0.0.10'])).body, 'from 127.0.0.4');
    assert.equal((await viaHttp('rclient', `${origin.url}/`, ['--interface', '127.0.0.20'])).body, 'from 127.0.0.2');
  });

  it('route_resolved: by the target address', async () => {
    assert.equal((await viaHttp('rresolved', `${origin6.url}/`)).body, 'from 127.0.0.3');
    assert.equal((await viaHttp('rresolved', `${origin.url}/`)).body, 'from 127.0.0.2');
  });

  it('route_geoip: country and AS number from a MaxMind database', async () => {
    assert.equal((await viaHttp('rgeo', `${origin6.url}/`)).body, 'from 127.0.0.4');
    assert.equal((await viaHttp('rgeo', `${origin.url}/`)).body, 'from 127.0.0.5');
  });

  it('route_failover: a refused primary hands over at once, a hanging one after fallback_delay', async () => {
    let t0 = performance.now();
    const a = await viaHttp('failover_dead', `${origin.url}/`);
    const deadMs = performance.now() - t0;
    assert.equal(a.body, 'from 127.0.0.3', `refused primary: ${a.status} ${a.stderr}`);
    assert.ok(deadMs < 1500, `took ${deadMs}ms with fallback_delay 2s`);
    t0 = performance.now();
    // CONNECT: the stalled primary accepts TCP but never answers the CONNECT, so only the delay lets b3 in
    const b = await viaConnect('failover_stall', `${origin.url}/`);
    const stallMs = performance.now() - t0;
    assert.equal(b.body, 'from 127.0.0.3');
    assert.ok(stallMs >= 280 && stallMs < 1500, `took ${stallMs}ms with fallback_delay 300ms`);
  });

  it('route_select round_robin splits 40 connections 20/20', async () => {
    const seen = new Map<string, number>();
    const p = await port('rr');
    for (let i = 0; i < 40; i++) {
      const r = await curl(['-x', `http://127.0.0.1:${p}`, `${origin.url}/${i}`]);
      seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(seen), { 'from 127.0.0.2': 20, 'from 127.0.0.3': 20 });
  });

  it('proxy_float: no peer → EscaperNotUsable; a published squid peer carries the next request', async () => {
    const r0 = await viaHttp('pfloat', `${origin.url}/`);
    assert.equal(r0.status, 403);
    await d.call('escaper_publish', {
      name: 'pfloat',
      data: JSON.stringify({ type: 'http', addr: `127.0.0.1:${squid.port}`, username: 'squser', password: 'sq-pass', expire: new Date(Date.now() + 3_600_000).toISOString() }),
    });
    const r = await viaHttp('pfloat', `${origin.url}/float`);
    assert.equal(r.status, 200, r.stderr);
    await sleep(200);
    assert.match(squid.log(), new RegExp(`GET ${origin.url}/float squser`));
    // an expired peer is not used
    await d.call('escaper_publish', { name: 'pfloat', data: { type: 'http', addr: `127.0.0.1:${squid.port}`, expire: new Date(Date.now() - 1000).toISOString() } });
    assert.equal((await viaHttp('pfloat', `${origin.url}/`)).status, 403);
  });

  it('direct_float binds to the published address', async () => {
    await d.call('escaper_publish', { name: 'dfloat', data: { ipv4: [{ ip: '127.0.0.7', id: 'x' }] } });
    assert.equal((await viaHttp('dfloat', `${origin.url}/`)).body, 'from 127.0.0.7');
    await d.call('escaper_publish', { name: 'dfloat', data: { ipv4: '127.0.0.8' } });
    assert.equal((await viaHttp('dfloat', `${origin.url}/`)).body, 'from 127.0.0.8');
  });

  it('route_query asks the UDP agent (msgpack) and follows its answer', async () => {
    const r = await viaHttp('rquery', `${origin.url}/`);
    assert.equal(r.body, 'from 127.0.0.5');
    assert.ok(agentQueries.some((q) => q.includes('host') && q.includes('127.0.0.1')));
  });

  it('use_proxy_protocol sends a PROXY v1 header with the client address before the CONNECT', async () => {
    const r = await viaConnect('pp', `${origin.url}/pp`, ['--interface', '127.0.0.11']);
    assert.equal(r.status, 200, r.stderr);
    const p = await port('pp');
    assert.match(ppHeaders[0] ?? '', new RegExp(`^PROXY TCP4 127\\.0\\.0\\.11 127\\.0\\.0\\.1 \\d+ ${p}\r\n$`));
  });

  it('proxy_float reads its peers from a Redis set', async () => {
    let r = await viaHttp('rfloat', `${origin.url}/redis`);
    for (let i = 0; i < 30 && r.status !== 200; i++) {
      await sleep(100); // the first poll may not have landed yet
      r = await viaHttp('rfloat', `${origin.url}/redis`);
    }
    assert.equal(r.status, 200, r.stderr);
    await upstream.waitForLog((l) => l.fields.task_type === 'HttpForward' && l.fields.uri === `${origin.url}/redis`);
  });

  it('SOCKS5 UDP ASSOCIATE through a SOCKS5 upstream (dante) reaches a UDP echo server', async () => {
    const echo = createSocket('udp4');
    echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    const echoPort = echo.address().port;
    const ctl = connect(await port('socks_udp'), '127.0.0.1');
    const client = createSocket('udp4');
    try {
      await new Promise<void>((r) => ctl.once('connect', () => r()));
      const read = (n: number) => new Promise<Buffer>((resolve, reject) => {
        let buf = Buffer.alloc(0);
        const t = setTimeout(() => reject(new Error('SOCKS reply timeout')), 5000);
        const on = (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length >= n) {
            clearTimeout(t);
            ctl.off('data', on);
            resolve(buf);
          }
        };
        ctl.on('data', on);
      });
      ctl.write(Buffer.from([5, 1, 0]));
      assert.deepEqual([...(await read(2))], [5, 0]);
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
      const cport = client.address().port;
      ctl.write(Buffer.from([5, 3, 0, 1, 127, 0, 0, 1, cport >> 8, cport & 0xff]));
      const rep = await read(10);
      assert.equal(rep[1], 0, `UDP ASSOCIATE refused: ${rep[1]}`);
      const relayPort = rep.readUInt16BE(8);
      const got = new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no UDP answer')), 5000);
        client.once('message', (m) => {
          clearTimeout(t);
          resolve(m);
        });
      });
      const head = Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff]);
      client.send(Buffer.concat([head, Buffer.from('ping')]), relayPort, '127.0.0.1');
      const answer = await got;
      assert.equal(answer.subarray(10).toString(), 'echo:ping');
      assert.equal(answer.readUInt16BE(8), echoPort);
      await sleep(200);
      assert.match(dante.log(), /udp/i);
    } finally {
      ctl.destroy();
      client.close();
      echo.close();
    }
  });

  it('sluice -g prints the escaper graph', async () => {
    const g = await runSluice(['-g', '-c', tmp]);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^strict digraph G \{/);
    assert.match(g.stdout, /escaper_rup -> escaper_b2/);
    assert.match(g.stdout, /server_rr -> escaper_rr/);
    assert.match(g.stdout, /escaper_b2 -> resolver_default \[style=dotted\]/);
    const m = await runSluice(['-c', tmp, '--dep-graph', 'mermaid']);
    assert.match(m.stdout, /^flowchart LR/);
    assert.match(m.stdout, /escaper_fo_dead --> escaper_dead_proxy/);
  });
});
