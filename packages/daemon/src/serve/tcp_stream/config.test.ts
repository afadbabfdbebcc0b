import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseTcpStreamConfig } from './config.js';
import { pickTarget } from './server.js';
import type { ClientInfo } from '../types.js';

const ctx = { object: {}, baseDir: '.', fail: (p: string[], w: string) => { throw new Error(`${p.join('.')}: ${w}`); } } as unknown as ParseContext;
const parse = (v: Record<string, unknown>) => parseTcpStreamConfig({ name: 't', type: 'tcp_stream', escaper: 'e', ...v }, ctx);
const client = (ip: string) => ({ clientIp: ip }) as ClientInfo;

describe('tcp_stream config', () => {
  it('takes one upstream string with its port; no TLS, no auth by default', () => {
    const c = parse({ upstream: 'db.example.net:5432' });
    const t = pickTarget(c, client('192.0.2.1'));
    assert.deepEqual(t.upstream, { host: 'db.example.net', port: 5432, ipFamily: 0 });
    assert.equal(t.tls, undefined);
    assert.deepEqual({ ...c.auth }, { userGroup: '', byClientIp: false, byServerName: false });
    assert.equal(c.tcpSpeedLimit, null);
    assert.equal(c.earlyDataMax, 16384);
  });

  it('refuses a missing upstream and an upstream without a port', () => {
    assert.throws(() => parse({}), /upstream: upstream is not set/);
    assert.throws(() => parse({ upstream: 'db.example.net' }), /upstream: .*port is required/);
    assert.throws(() => parse({ upstream: ['10.0.0.1:80', '10.0.0.2'] }), /upstream\.1: /);
  });

  it('hashes the client IP with rendezvous: one client keeps its upstream', () => {
    const c = parse({ upstream: ['10.0.0.1:80', { addr: '10.0.0.2:80', weight: 2 }, '10.0.0.3:80'], upstream_pick_policy: 'rendezvous' });
    const first = pickTarget(c, client('198.51.100.7')).upstream.host;
    for (let i = 0; i < 20; i++) assert.equal(pickTarget(c, client('198.51.100.7')).upstream.host, first);
    const spread = new Set<string>();
    for (let i = 0; i < 64; i++) spread.add(pickTarget(c, client(`198.51.100.${i}`)).upstream.host);
    assert.equal(spread.size, 3);
  });

  it('sends TLS to the upstream with upstream_tls_name, else the picked host', () => {
    const named = parse({ upstream: '10.0.0.1:443', tls_client: true, upstream_tls_name: 'api.example.net' });
    assert.equal(pickTarget(named, client('192.0.2.1')).tls?.name, 'api.example.net');
    const plain = parse({ upstream: 'api.example.org:443', tls_client: {} });
    assert.equal(pickTarget(plain, client('192.0.2.1')).tls?.name, 'api.example.org');
    assert.equal(parse({ upstream: 'a.example:1', tls_client: false }).tlsClient, undefined);
    assert.throws(() => parse({ upstream: 'a.example:1', tls_client: { bogus: 1 } }), /tls_client/);
  });

  it('needs user_group when authenticating by client IP', () => {
    assert.throws(() => parse({ upstream: 'a.example:1', auth_by_client_ip: true }), /user_group: user_group is not set/);
    assert.equal(parse({ upstream: 'a.example:1', auth_by_client_ip: true, user_group: 'f' }).auth.byClientIp, true);
  });

  it('parses the speed limit, socket options and copy buffer', () => {
    const c = parse({ upstream: 'a.example:1', tcp_sock_speed_limit: '1M', tcp_misc_opts: { no_delay: false }, tcp_copy_buffer_size: '1K' });
    assert.equal(c.tcpSpeedLimit?.maxDownload, 1_000_000);
    assert.equal(c.tcpNoDelay, false);
    assert.equal(c.earlyDataMax, 4096);
  });
});
