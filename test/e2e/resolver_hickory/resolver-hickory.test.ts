/**
 * The hickory resolver against real DNS servers: dnsmasq for plain DNS (UDP, and TCP when an answer is
 * truncated), dnsdist in front of it for DNS-over-TLS and DNS-over-HTTPS with a test CA; a proxy request
 * reaches an origin by a name only that dnsmasq knows; NXDOMAIN, a certificate for another name, a server
 * that never answers (bounded, RESOLVE_TIMEOUT), g3's next-server schedule, and quic refused by `sluice -t`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  curl, makePki, removePki, runCtl, runSluice, startDaemon, startOrigin, type DaemonHandle, type Origin, type TestPki, startDnsmasq, type DnsServer,
} from '@sluice/testkit';
import { startDnsdist, startSilentUdp, type DnsdistServer, type SilentServer } from './dns-peers.js';

/** more A records than fit in 1232 octets of UDP: dnsmasq sets TC and the resolver asks again over TCP */
const BIG = Array.from({ length: 100 }, (_, i) => `10.1.${i >> 8}.${(i & 0xff) + 1}`);

describe('hickory resolver with real DNS servers', () => {
  let zone: DnsServer;
  let dnsdist: DnsdistServer;
  let silent: SilentServer;
  /** silent on 127.0.0.2 at the zone's port: the first of two servers, where only the second answers */
  let silentFirst: SilentServer;
  let pki: TestPki;
  let origin: Origin;
  let d: DaemonHandle;

  const query = (resolver: string, name: string, strategy?: string) =>
    runCtl(['-C', d.controlDir, '-p', String(d.pid), 'resolver', resolver, 'query', name, ...(strategy ? ['-s', strategy] : [])]);

  before(async () => {
    zone = await startDnsmasq({
      'origin.sluice.test': ['127.0.0.1'],
      'dual.sluice.test': ['127.0.0.2', '::2'],
      'v6.sluice.test': ['::3'],
      'big.sluice.test': BIG,
    }, { zone: 'sluice.test' });
    pki = makePki(['dns.sluice.test'], []);
    dnsdist = await startDnsdist(zone.port, pki.files.cert, pki.files.key);
    silent = await startSilentUdp();
    silentFirst = await startSilentUdp('127.0.0.2', zone.port);
    origin = await startOrigin();
    const tls = `tls_client: { ca_certificate: ${pki.files.caCert} }`;
    d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver:
  - name: plain
    type: hickory
    server: 127.0.0.1
    server_port: ${zone.port}
    request_timeout: 2s
  - name: via-dnsdist
    type: hickory
    server: [127.0.0.1]
    server_port: ${dnsdist.plainPort}
  - name: dot
    type: hickory
    server: 127.0.0.1
    server_port: ${dnsdist.dotPort}
    encryption: { tls_name: dns.sluice.test, ${tls} }
  - name: doh
    type: hickory
    server: 127.0.0.1
    server_port: ${dnsdist.dohPort}
    encryption: { tls_name: dns.sluice.test, protocol: dns-over-https, ${tls} }
  - name: dot-wrong-name
    type: hickory
    server: 127.0.0.1
    server_port: ${dnsdist.dotPort}
    encryption: { tls_name: other.sluice.test, ${tls} }
    each_tries: 1
  - name: silent
    type: hickory
    server: 127.0.0.1
    server_port: ${silent.port}
    request_timeout: 200ms
    each_tries: 2
    retry_interval: 100ms
    each_timeout: 300ms
  - name: silent-then-plain
    type: hickory
    server: 127.0.0.2 127.0.0.1
    server_port: ${zone.port}
    request_timeout: 5s
    retry_interval: 100ms
escaper:
  - name: direct
    type: direct_fixed
    resolver: plain
    resolve_strategy: ipv4_only
    egress_net_filter: {default: allow, allow: [127.0.0.1]}
  - name: direct-doh
    type: direct_fixed
    resolver: doh
    resolve_strategy: ipv4_only
    egress_net_filter: {default: allow, allow: [127.0.0.1]}
  - name: direct-silent
    type: direct_fixed
    resolver: silent
    resolve_strategy: ipv4_only
    egress_net_filter: {default: allow, allow: [127.0.0.1]}
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: http-doh
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct-doh
  - name: http-silent
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct-silent
`,
      },
    });
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await silent?.close();
    await silentFirst?.close();
    await dnsdist?.close();
    await zone?.close();
    if (pki) removePki(pki);
  });

  it('reaches an origin by a name only the test DNS server knows (plain DNS over UDP)', async () => {
    const port = await d.port('http');
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://origin.sluice.test:${origin.port}/`]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(r.body, 'hello');
    const log = await d.waitForLog((l) => l.fields.upstream === `origin.sluice.test:${origin.port}`);
    assert.equal(log.fields.next_peer_addr, `127.0.0.1:${origin.port}`);
  });

  // (the query's strategy is not relied on: both families are asked, A first)
  it('answers both families, and a family the name lacks is empty rather than a failure', async () => {
    assert.deepEqual((await query('plain', 'dual.sluice.test')).stdout.trim().split('\n'), ['127.0.0.2', '::2']);
    const v6 = await query('plain', 'v6.sluice.test');
    assert.equal(v6.code, 0, v6.stderr);
    assert.equal(v6.stdout.trim(), '::3');
    assert.equal((await query('plain', 'origin.sluice.test')).stdout.trim(), '127.0.0.1');
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const r = await query('plain', 'big.sluice.test', 'ipv4only');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split(/\s+/).sort(), [...BIG].sort());
  });

  it('fails a name the server says does not exist (NXDOMAIN): 530, UpstreamNotResolved, Resolve log', async () => {
    const port = await d.port('http');
    const r = await curl(['-x', `http://127.0.0.1:${port}`, 'http://missing.sluice.test/']);
    assert.equal(r.status, 530);
    const task = await d.waitForLog((l) => l.fields.upstream === 'missing.sluice.test:80');
    assert.equal(task.fields.reason, 'UpstreamNotResolved');
    const res = await d.waitForLog((l) => l.fields.resolver_name === 'plain' && l.fields.domain === 'missing.sluice.test');
    assert.equal(res.fields.resolver_type, 'hickory');
    assert.equal(res.fields.error_type, 'RESOLVE_FAILED');
    assert.equal(res.fields.error_subtype, 'NXDOMAIN');
    assert.match(res.fields.duration!, /^\d+\.\d{3}(ns|µs|ms|s)$/, 'g3 duration format');
    assert.equal(res.fields.server_port, String(zone.port));
    assert.equal(res.fields.encryption, 'plain');
  });

  it('resolves through dnsdist over plain DNS, DNS-over-TLS and DNS-over-HTTPS', async () => {
    for (const name of ['via-dnsdist', 'dot', 'doh']) {
      const r = await query(name, 'origin.sluice.test', 'ipv4only');
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), '127.0.0.1', name);
      const both = await query(name, 'dual.sluice.test');
      assert.deepEqual(both.stdout.trim().split('\n'), ['127.0.0.2', '::2'], name);
    }
  });

  it('proxies through an escaper whose resolver speaks DNS-over-HTTPS', async () => {
    const port = await d.port('http-doh');
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://origin.sluice.test:${origin.port}/doh`]);
    assert.equal(r.status, 200, r.stderr);
    const nx = await query('doh', 'missing.sluice.test');
    assert.notEqual(nx.code, 0);
  });

  it('refuses a DoT server whose certificate is not for tls_name', async () => {
    const r = await query('dot-wrong-name', 'origin.sluice.test', 'ipv4only');
    assert.notEqual(r.code, 0);
    const res = await d.waitForLog((l) => l.fields.resolver_name === 'dot-wrong-name');
    assert.equal(res.fields.error_type, 'RESOLVE_FAILED');
    assert.equal(res.fields.encryption, 'dns-over-tls(other.sluice.test)');
  });

  it('ends a task whose server never answers with the resolver timeout, within its bounds', async () => {
    const port = await d.port('http-silent');
    const started = Date.now();
    const r = await curl(['-x', `http://127.0.0.1:${port}`, 'http://slow.sluice.test/']);
    const took = Date.now() - started;
    assert.equal(r.status, 530);
    // retry_interval 100ms + (each_timeout - retry_interval) 200ms; curl and the daemon add little
    assert.ok(took >= 250 && took < 2500, `took ${took}ms`);
    const res = await d.waitForLog((l) => l.fields.resolver_name === 'silent' && l.fields.domain === 'slow.sluice.test');
    assert.equal(res.fields.error_type, 'RESOLVE_TIMEOUT');
    assert.equal(res.fields.error_subtype, 'timeout');
    const task = await d.waitForLog((l) => l.fields.upstream === 'slow.sluice.test:80');
    assert.equal(task.fields.reason, 'UpstreamNotResolved');
    assert.ok(silent.received >= 1);
  });

  it('asks the next server when the first has not answered within retry_interval', async () => {
    // the first server would hold the query for request_timeout (5s); the second is asked after 100ms
    const before = silentFirst.received;
    const started = Date.now();
    const r = await query('silent-then-plain', 'origin.sluice.test', 'ipv4only');
    const took = Date.now() - started;
    assert.equal(r.stdout.trim(), '127.0.0.1', r.stderr);
    assert.ok(took < 2500, `took ${took}ms`);
    assert.ok(silentFirst.received > before, 'the first server was asked');
  });
});

describe('hickory resolver config', () => {
  const check = async (resolver: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-hickory-cfg-'));
    try {
      writeFileSync(join(dir, 'main.yaml'), `resolver:\n  - name: h\n    type: hickory\n${resolver}`);
      return await runSluice(['-t', '-c', join(dir, 'main.yaml')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('refuses DNS over QUIC and HTTP/3 with the reason (Node has no QUIC)', async () => {
    for (const p of ['dns-over-quic', 'doh3', 'dns-over-http/3']) {
      const r = await check(`    server: 127.0.0.1\n    encryption: { tls_name: dns.example, protocol: ${p} }\n`);
      assert.notEqual(r.code, 0, p);
      assert.match(r.stderr + r.stdout, /no QUIC client/, p);
    }
  });

  it('wants IP servers and accepts g3 spellings', async () => {
    const bad = await check('    server: dns.example.net\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /not an IP address/);
    const ok = await check('    server: "192.0.2.1 2001:db8::1"\n    retry_attempts: 3\n    negative_ttl: 10\n    encrypt: dns.example\n    bind_ip: 127.0.0.1\n');
    assert.equal(ok.code, 0, ok.stderr);
  });
});
