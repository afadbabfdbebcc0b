import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueError } from './errors.js';
import { NetworkAcl } from './acl/network.js';
import { VALUE_PARSERS } from './registry.js';

describe('VALUE_PARSERS', () => {
  it('has every name the config schemas use', () => {
    for (const name of [
      'duration', 'size', 'rate_limit_quota', 'ports', 'network_acl_egress', 'network_acl_ingress', 'network_acl', 'port_acl',
      'host_filter_set', 'user_agent_filter', 'proxy_request_filter', 'tcp_keepalive', 'tcp_speed_limit', 'udp_speed_limit',
      'tcp_connect', 'happy_eyeballs', 'resolve_strategy', 'resolve_redirection', 'http_keepalive', 'proxy_protocol',
      'tcp_misc_opts', 'listen', 'random_ratio', 'pick_policy', 'ip_network', 'ip', 'upstream', 'object_name',
    ]) {
      assert.equal(typeof VALUE_PARSERS[name], 'function', name);
    }
  });
  it('parses through the table', () => {
    assert.equal(VALUE_PARSERS.duration!('1m'), 60_000);
    assert.equal(VALUE_PARSERS.bool!('yes'), true);
    assert.equal(VALUE_PARSERS.u16!('8080'), 8080);
    assert.ok(VALUE_PARSERS.network_acl_egress!({ default: 'allow' }) instanceof NetworkAcl);
    assert.deepEqual(VALUE_PARSERS.upstream!('a.example'), { host: 'a.example', port: 0, ipFamily: 0 });
    assert.deepEqual(VALUE_PARSERS.proxy_addr_http!(['a.example', { addr: 'b.example:8080', weight: 2 }]), [
      { addr: { host: 'a.example', port: 3128, ipFamily: 0 }, weight: 1 },
      { addr: { host: 'b.example', port: 8080, ipFamily: 0 }, weight: 2 },
    ]);
    assert.equal((VALUE_PARSERS.proxy_addr_socks5!('c.example') as { addr: { port: number } }[])[0]!.addr.port, 1080);
  });
  it('reports errors as ValueError with a path', () => {
    assert.throws(
      () => VALUE_PARSERS.upstream_list!(['a.example:1', 'b.example']),
      (e: unknown) => e instanceof ValueError && /needs a port/.test(e.message) && e.path.join('.') === '1',
    );
  });
});
