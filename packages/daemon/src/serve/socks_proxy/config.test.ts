import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseSocksProxyConfig } from './config.js';
import { advertisedUdpIp, UdpBudget } from './udp-support.js';

const ctx = { object: {}, baseDir: '.', fail: (p: string[], w: string) => { throw new Error(`${p.join('.')}: ${w}`); } } as unknown as ParseContext;
const parse = (v: Record<string, unknown>) => parseSocksProxyConfig({ name: 's', type: 'socks_proxy', escaper: 'e', ...v }, ctx);

describe('socks_proxy config', () => {
  it('has g3\'s defaults', () => {
    const c = parse({});
    assert.equal(c.useUdpAssociate, false);
    assert.equal(c.negotiationTimeoutMs, 4000);
    assert.equal(c.udpClientInitialTimeoutMs, 30_000);
    assert.equal(c.idleMaxCount, 1);
    assert.equal(c.idleCheckIntervalMs, 60_000);
    assert.equal(c.udpPacketSize, 4096);
    assert.equal(c.transmuteUdpEchoIp, null);
    assert.equal(c.tcpSpeedLimit, null);
    assert.equal(c.tcpNoDelay, true);
  });
  it('parses UDP binding, port range, buffers, limits and packet size (capped at 16K)', () => {
    const c = parse({
      use_udp_associate: true, udp_bind_ipv4: ['10.0.0.1', '10.0.0.2'], udp_bind_ipv6: '2001:DB8::1', udp_bind_port_range: '20000-20100',
      udp_socket_buffer: '1M', udp_relay_packet_size: '64K', tcp_sock_speed_limit: '1M', udp_sock_speed_limit: { shift_millis: 8, upload_packets: 10 },
      negotiation_timeout: '2s', task_idle_max_count: 3,
    });
    assert.deepEqual(c.udpBind4, ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(c.udpBind6, ['2001:db8::1']);
    assert.deepEqual({ ...c.udpPortRange }, { start: 20000, end: 20100 });
    assert.equal(c.udpRecvBuffer, 1_000_000); // g3 sizes: M is decimal, Mi binary
    assert.equal(c.udpPacketSize, 16 * 1024);
    assert.equal(c.tcpSpeedLimit?.maxUpload, 1_000_000);
    assert.equal(c.udpSpeedLimit?.maxUploadPackets, 10);
    assert.equal(c.negotiationTimeoutMs, 2000);
    assert.equal(c.idleMaxCount, 3);
  });
  it('refuses an address of the wrong family in udp_bind_ipv4/6', () => {
    assert.throws(() => parse({ udp_bind_ipv4: '::1' }), /udp_bind_ipv4\.0/);
    assert.throws(() => parse({ udp_bind_ipv6: '1.2.3.4' }), /udp_bind_ipv6\.0/);
  });
  it('transmute_udp_echo_ip: true, a map, or off', () => {
    const on = parse({ transmute_udp_echo_ip: true });
    assert.equal(advertisedUdpIp(on, '192.0.2.1'), '0.0.0.0');
    assert.equal(advertisedUdpIp(on, 'fe80::1'), '::');
    const map = parse({ transmute_udp_echo_ip: { '10.0.0.1': '203.0.113.7' } });
    assert.equal(advertisedUdpIp(map, '10.0.0.1'), '203.0.113.7');
    assert.equal(advertisedUdpIp(map, '10.0.0.2'), '0.0.0.0');
    assert.equal(advertisedUdpIp(parse({ transmute_udp_echo_ip: false }), '10.0.0.1'), '10.0.0.1');
    assert.throws(() => parse({ transmute_udp_echo_ip: { '10.0.0.1': 'nope' } }), /transmute_udp_echo_ip/);
  });
});

describe('UdpBudget', () => {
  it('allows bytes and packets per slice, then drops', () => {
    const lim = { enabled: true, shiftMillis: 12, maxUploadBytes: 0, maxDownloadBytes: 0, maxUploadPackets: 0, maxDownloadPackets: 0 };
    const bytes = new UdpBudget(lim, 100, 0);
    assert.equal(bytes.allow(60), true);
    assert.equal(bytes.allow(60), false);
    assert.equal(bytes.allow(40), true);
    const packets = new UdpBudget(lim, 0, 2);
    assert.equal(packets.allow(1), true);
    assert.equal(packets.allow(1), true);
    assert.equal(packets.allow(1), false);
  });
});
