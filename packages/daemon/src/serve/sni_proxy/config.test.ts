import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseSniProxyConfig } from './config.js';
import { hostKey, redirect } from './hosts.js';
import { parsePortMap } from './portmap.js';

const ctx = { object: {}, baseDir: '.', fail: (p: string[], w: string) => { throw new Error(`${p.join('.')}: ${w}`); } } as unknown as ParseContext;
const parse = (v: Record<string, unknown>) => parseSniProxyConfig({ name: 's', type: 'sni_proxy', escaper: 'e', ...v }, ctx);

describe('sni_proxy config', () => {
  it('has g3\'s defaults', () => {
    const c = parse({});
    assert.equal(c.tlsMaxClientHelloSize, 65536);
    assert.equal(c.requestWaitTimeoutMs, 60_000);
    assert.equal(c.requestRecvTimeoutMs, 4000);
    assert.equal(c.allowedHosts, undefined);
    assert.equal(c.initialBufferSize, 4096);
  });

  it('matches allowed_hosts exactly, by parent domain, and by default; redirects host and port', () => {
    const c = parse({
      allowed_hosts: [
        { exact_match: ['www.example.net', 'Example.NET'], redirect_host: 'www.example.net' },
        { child_match: 'example.org' },
        { exact_match: '192.0.2.10', redirect_port: 8443 },
        { child_match: 'deep.example.org', redirect_host: '10.0.0.1', redirect_port: '9000' },
      ],
    });
    const hm = c.allowedHosts!;
    const up = (host: string, port = 443) => ({ host, port, ipFamily: 0 as const });
    assert.deepEqual(redirect(hm.get(hostKey('EXAMPLE.net'))!, up('example.net')), up('www.example.net'));
    assert.deepEqual(redirect(hm.get(hostKey('a.example.org'))!, up('a.example.org')), up('a.example.org'));
    assert.equal(hm.get('example.org'), undefined, 'child_match does not match the parent itself');
    assert.equal(hm.get('xexample.org'), undefined);
    assert.deepEqual(redirect(hm.get('x.deep.example.org')!, up('x.deep.example.org')), { host: '10.0.0.1', port: 9000, ipFamily: 4 });
    assert.deepEqual(redirect(hm.get(hostKey('192.0.2.10'))!, { host: '192.0.2.10', port: 443, ipFamily: 4 }), { host: '192.0.2.10', port: 8443, ipFamily: 4 });
    assert.equal(hm.get('other.test'), undefined);
  });

  it('refuses bad allowed_hosts entries with their path', () => {
    assert.throws(() => parse({ allowed_hosts: [{ exact_match: 'a.test' }, { exact_match: 'a.test' }] }), /allowed_hosts\.1: host a\.test is matched by two entries/);
    assert.throws(() => parse({ allowed_hosts: { exact_match: 'a.test', redirect_port: 70000 } }), /allowed_hosts\.redirect_port/);
    assert.throws(() => parse({ allowed_hosts: { exact_match: 'a.test', upstream: 'x' } }), /unknown key 'upstream'/);
    assert.throws(() => parse({ allowed_hosts: [{ redirect_port: 1 }, { set_default: true }] }), /default host entry is already set/);
  });

  it('checks auth keys, hello size and protocol_inspection', () => {
    assert.throws(() => parse({ user_group: 'f', auth_by_client_ip: true, auth_by_server_name: true }), /only one of/);
    assert.throws(() => parse({ auth_by_server_name: true }), /user_group is not set/);
    assert.equal(parse({ user_group: 'f', auth_by_server_name: true }).auth.byServerName, true);
    assert.throws(() => parse({ tls_max_client_hello_size: 10 }), /tls_max_client_hello_size/);
    assert.equal(parse({ protocol_inspection: { data0_buffer_size: '16K', data0_read_timeout: '2s' } }).initialBufferSize, 16000);
    assert.throws(() => parse({ protocol_inspection: { data0_buffer: 1 } }), /protocol_inspection\.data0_buffer: unknown key/);
  });

  it('parses portmaps in list and map form, refusing unknown protocols', () => {
    assert.deepEqual([...parsePortMap([{ port: 8443, protocol: 'https' }, { port: 25, protocol: ['smtp'] }])], [[8443, ['https']], [25, ['smtp']]]);
    assert.deepEqual([...parsePortMap({ 80: 'http', 443: ['https', 'http'] })], [[80, ['http']], [443, ['https', 'http']]]);
    assert.throws(() => parse({ server_tcp_portmap: { 80: 'gopher' } }), /server_tcp_portmap\.80: unknown protocol 'gopher'/);
    assert.throws(() => parse({ client_tcp_portmap: [{ port: 'x', protocol: 'http' }] }), /client_tcp_portmap\.0\.port/);
  });
});
