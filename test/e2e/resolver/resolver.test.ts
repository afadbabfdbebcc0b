/**
 * The c-ares resolver against a real DNS server (Debian's dnsmasq started by the test): names resolve through
 * the configured `server`, the proxy reaches the origin by name, unknown names get 530, and `resolver query`
 * over the control socket answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, runCtl, startDaemon, startDnsmasq, startOrigin, type DaemonHandle, type DnsServer, type Origin } from '@sluice/testkit';

describe('c-ares resolver with a real DNS server', () => {
  let dns: DnsServer;
  let origin: Origin;
  let d: DaemonHandle;
  let port: number;

  before(async () => {
    dns = await startDnsmasq({ 'origin.sluice.test': ['127.0.0.1'], 'v6only.sluice.test': ['::1'], 'dual.sluice.test': ['127.0.0.1', '::1'] });
    origin = await startOrigin();
    d = await startDaemon({
      files: {
        'main.yaml': `
log: stdout
resolver:
  - name: local-dns
    type: c-ares
    server: 127.0.0.1:${dns.port}
    each_timeout: 500
    each_tries: 2
  - name: dead-dns
    type: c-ares
    server: 127.0.0.1:9
    each_timeout: 300
    each_tries: 1
  - name: failover
    type: fail_over
    primary: dead-dns
    standby: local-dns
    fallback_delay: 50ms
escaper:
  - name: direct
    type: direct_fixed
    resolver: local-dns
    resolve_strategy: ipv4_first
    egress_net_filter: {default: allow, allow: [127.0.0.1, "::1"]}
  - name: via-failover
    type: direct_fixed
    resolver: failover
    egress_net_filter: {default: allow, allow: [127.0.0.1]}
server:
  - name: http
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: direct
  - name: http-failover
    type: http_proxy
    listen: 127.0.0.1:0
    escaper: via-failover
`,
      },
    });
    port = await d.port('http');
  });
  after(async () => {
    await d?.stop();
    await origin?.close();
    await dns?.close();
  });

  it('reaches an origin by a name only the test DNS server knows', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${port}`, `http://origin.sluice.test:${origin.port}/`]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(r.body, 'hello');
    const log = await d.waitForLog((l) => l.fields.upstream === `origin.sluice.test:${origin.port}`);
    assert.equal(log.fields.next_peer_addr, `127.0.0.1:${origin.port}`);
    assert.equal(origin.seen.at(-1)!.headers.host, `origin.sluice.test:${origin.port}`);
  });

  it('answers 530 for a name that does not exist and logs UpstreamNotResolved', async () => {
    const r = await curl(['-x', `http://127.0.0.1:${port}`, 'http://missing.sluice.test/']);
    assert.equal(r.status, 530);
    const log = await d.waitForLog((l) => l.fields.upstream === 'missing.sluice.test:80');
    assert.equal(log.fields.reason, 'UpstreamNotResolved');
  });

  it('fails over to the standby resolver when the primary does not answer', async () => {
    const r = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'resolver', 'failover', 'query', 'origin.sluice.test']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '127.0.0.1');
    const fport = await d.port('http-failover');
    const c = await curl(['-x', `http://127.0.0.1:${fport}`, `http://origin.sluice.test:${origin.port}/via-failover`]);
    assert.equal(c.status, 200, c.stderr);
  });

  it('answers resolver queries over the control socket (sluice-ctl resolver NAME query)', async () => {
    const r = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'resolver', 'local-dns', 'query', 'origin.sluice.test']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '127.0.0.1');
    const v6 = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'resolver', 'local-dns', 'query', 'v6only.sluice.test', '-s', 'ipv6only']);
    assert.equal(v6.stdout.trim(), '::1');
    // the strategy picks the families asked for, however g3 spells it
    for (const [s, want] of [['Ipv6Only', '::1'], ['ipv4_only', '127.0.0.1'], ['ipv6-only', '::1']]) {
      const q = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'resolver', 'local-dns', 'query', 'dual.sluice.test', '-s', s!]);
      assert.equal(q.stdout.trim(), want, `${s}: ${q.stdout}${q.stderr}`);
    }
  });
});
