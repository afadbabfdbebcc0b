import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import { encryptionSummary, parseHickoryConfig } from './config.js';

const ctx: ParseContext = {
  object: {} as ParseContext['object'],
  baseDir: '/nonexistent',
  fail(path, why) {
    throw new Error(`${path.join('/')}: ${why}`);
  },
};
const parse = (v: Record<string, unknown>) => parseHickoryConfig({ name: 'h', type: 'hickory', ...v }, ctx);

describe('hickory config', () => {
  it("has g3's defaults", () => {
    const c = parse({ server: '192.0.2.1' });
    assert.deepEqual(c.servers, ['192.0.2.1']);
    assert.equal(c.serverPort, 53);
    assert.equal(c.encryption, undefined);
    assert.equal(c.connectTimeoutMs, 10_000);
    assert.equal(c.requestTimeoutMs, 5_000);
    assert.equal(c.eachTimeoutMs, 5_000);
    assert.equal(c.eachTries, 2);
    assert.equal(c.retryIntervalMs, 1_000);
    assert.equal(c.positiveMinTtl, 30);
    assert.equal(c.positiveMaxTtl, 3600);
    assert.equal(c.negativeTtl, 30);
    assert.equal(c.gracefulStopWaitMs, 30_000);
    assert.equal(c.protectiveQueryTimeoutMs, 60_000);
    assert.equal(encryptionSummary(c), 'plain');
  });

  it('takes servers as a string or a list, IPs only, canonicalised', () => {
    assert.deepEqual(parse({ server: ' 192.0.2.1   2001:DB8::1 ' }).servers, ['192.0.2.1', '2001:db8::1']);
    assert.deepEqual(parse({ server: ['192.0.2.1', '192.0.2.2'] }).servers, ['192.0.2.1', '192.0.2.2']);
    assert.throws(() => parse({ server: '192.0.2.1:53' }), /server\/0: .*not an IP address/);
    assert.throws(() => parse({ server: ['192.0.2.1', 'dns.example'] }), /server\/1/);
    assert.throws(() => parse({ server: '   ' }), /no DNS server/);
  });

  it('picks the default port from the protocol; server_port wins', () => {
    assert.equal(parse({ server: '192.0.2.1', encryption: 'dns.example' }).serverPort, 853);
    const doh = parse({ server: '192.0.2.1', encryption: { tls_name: 'dns.example', protocol: 'DoH' } });
    assert.equal(doh.serverPort, 443);
    assert.equal(doh.encryption!.protocol, 'https');
    assert.equal(encryptionSummary(doh), 'dns-over-https(dns.example)');
    assert.equal(parse({ server: '192.0.2.1', server_port: 5353, encryption: 'dns.example' }).serverPort, 5353);
    for (const p of ['tls', 'dot', 'dns-over-tls', 'DNS_OVER_TLS']) {
      assert.equal(parse({ server: '192.0.2.1', encryption: { tls_name: 'x.example', protocol: p } }).encryption!.protocol, 'tls', p);
    }
  });

  it('refuses QUIC protocols, unknown protocols and keys, and a missing tls_name', () => {
    for (const p of ['quic', 'doq', 'dns-over-quic', 'h3', 'doh3', 'dns-over-http/3']) {
      assert.throws(() => parse({ server: '192.0.2.1', encryption: { tls_name: 'x.example', protocol: p } }), /Node has no QUIC client/, p);
    }
    assert.throws(() => parse({ server: '192.0.2.1', encryption: { tls_name: 'x.example', protocol: 'dnscrypt' } }), /unknown protocol/);
    assert.throws(() => parse({ server: '192.0.2.1', encryption: { tls_name: 'x.example', port: 1 } }), /unknown key 'port'/);
    assert.throws(() => parse({ server: '192.0.2.1', encryption: { protocol: 'tls' } }), /tls_name is required/);
    assert.throws(() => parse({ server: '192.0.2.1', encryption: { tls_name: 'x', tls_client: { ca_certificate: 'missing.pem' } } }), /encryption\/tls_client/);
  });

  it('raises positive_max_ttl to positive_min_ttl and parses durations', () => {
    const c = parse({ server: '192.0.2.1', positive_min_ttl: 600, positive_max_ttl: 60, each_timeout: '1500ms', retry_interval: '2s', bind_ip: '127.0.0.1' });
    assert.equal(c.positiveMaxTtl, 600);
    assert.equal(c.eachTimeoutMs, 1500);
    assert.equal(c.retryIntervalMs, 2000);
    assert.equal(c.bindIp, '127.0.0.1');
  });
});
