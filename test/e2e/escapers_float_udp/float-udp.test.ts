/**
 * UDP through the float escapers, end to end with a real UDP echo server that answers with the source address
 * it saw, in both SOCKS UDP modes (UDP ASSOCIATE and g3's udp connect):
 * - direct_float binds its UDP socket to the published address (the echo sees it);
 * - proxy_float with a socks5 peer (a second sluice's socks_proxy) relays through the peer's UDP ASSOCIATE: the
 *   echo sees the peer's socket, and the peer's task log has the datagrams;
 * - proxy_float with an http peer refuses UDP: ASSOCIATE is answered "command not supported" (X'07'), udp
 *   connect ends the task with UnimplementedProtocol.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SocksClient } from 'socks';
import { baseConfig, startDaemon, type DaemonHandle } from '@sluice/testkit';
import { socksUdpAssociate } from '../../lib/socks-udp.js';

/** A UDP echo that answers `<source ip>|<payload>`. */
async function startAddrEcho(): Promise<{ port: number; close(): Promise<void> }> {
  const s = createSocket('udp4');
  s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from(`${r.address}|`), m]), r.port, r.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** Send one datagram and wait (bounded) for one back. */
function roundTrip(sock: UdpSocket, data: Buffer, port: number, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onMsg = (msg: Buffer) => {
      clearTimeout(t);
      sock.off('message', onMsg);
      resolve(msg);
    };
    const t = setTimeout(() => {
      sock.off('message', onMsg);
      reject(new Error('no UDP answer in time'));
    }, timeoutMs);
    sock.on('message', onMsg);
    sock.send(data, port, '127.0.0.1');
  });
}

/** One datagram to the echo through a SOCKS server; returns the payload of the answer. */
async function echoThrough(serverPort: number, echoPort: number, payload: string): Promise<string> {
  const { relayPort, control } = await socksUdpAssociate(serverPort);
  const udp = createSocket('udp4');
  try {
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const frame = SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: echoPort }, data: Buffer.from(payload) });
    const answer = SocksClient.parseUDPFrame(await roundTrip(udp, frame, relayPort));
    assert.equal(answer.remoteHost.port, echoPort);
    return answer.data.toString();
  } finally {
    control.destroy();
    udp.close();
  }
}

describe('UDP through direct_float and proxy_float', () => {
  let echo: Awaited<ReturnType<typeof startAddrEcho>>;
  let peer: DaemonHandle;
  let d: DaemonHandle;
  let peerSocksPort: number;
  let peerHttpPort: number;

  before(async () => {
    echo = await startAddrEcho();
    // the socks5 / http peer: a second sluice going direct from 127.0.0.5, so its UDP is recognisable
    peer = await startDaemon({ files: { 'main.yaml': `
${baseConfig({ escapers: '  - { name: from5, type: direct_fixed, resolver: default, bind_ip: 127.0.0.5, egress_network_filter: { default: allow, allow: 127.0.0.0/8 } }\n' })}server:
  - { name: upsocks, type: socks_proxy, listen: 127.0.0.1:0, escaper: from5, enable_udp_associate: true }
  - { name: uphttp, type: http_proxy, listen: 127.0.0.1:0, escaper: from5 }
` } });
    peerSocksPort = await peer.port('upsocks');
    peerHttpPort = await peer.port('uphttp');
    const servers = (name: string, escaper: string) => `
  - { name: ${name}_assoc, type: socks_proxy, listen: 127.0.0.1:0, escaper: ${escaper}, enable_udp_associate: true }
  - { name: ${name}_conn, type: socks_proxy, listen: 127.0.0.1:0, escaper: ${escaper} }`;
    d = await startDaemon({ files: { 'main.yaml': `
${baseConfig({ escapers: `  - { name: dfloat, type: direct_float, resolver: default, egress_network_filter: { default: allow, allow: 127.0.0.0/8 } }
  - { name: psocks, type: proxy_float }
  - { name: phttp, type: proxy_float }
` })}server:${servers('dfloat', 'dfloat')}${servers('psocks', 'psocks')}${servers('phttp', 'phttp')}
` } });
  });

  after(async () => {
    await d?.stop();
    await peer?.stop();
    await echo?.close();
  });

  it('direct_float: nothing published refuses ASSOCIATE; then both modes send from the published address', async () => {
    await assert.rejects(socksUdpAssociate(await d.port('dfloat_assoc')), / - NotAllowed$/);
    const none = await d.waitForTask((l) => l.fields.task_type === 'UdpAssociate' && l.fields.server_name === 'dfloat_assoc');
    assert.equal(none.fields.reason, 'EscaperNotUsable');
    await d.call('escaper_publish', { name: 'dfloat', data: { ipv4: [{ ip: '127.0.0.7', id: 'a' }] } });
    assert.equal(await echoThrough(await d.port('dfloat_assoc'), echo.port, 'x'), '127.0.0.7|x');
    assert.equal(await echoThrough(await d.port('dfloat_conn'), echo.port, 'y'), '127.0.0.7|y');
    const log = await d.waitForTask((l) => l.fields.task_type === 'UdpConnect' && l.fields.server_name === 'dfloat_conn');
    assert.equal(log.fields.next_bind_ip, '127.0.0.7');
    assert.equal(log.fields.next_peer_addr, `127.0.0.1:${echo.port}`);
    await d.call('escaper_publish', { name: 'dfloat', data: { ipv4: '127.0.0.8' } });
    assert.equal(await echoThrough(await d.port('dfloat_assoc'), echo.port, 'z'), '127.0.0.8|z');
  });

  it('proxy_float with a socks5 peer: UDP goes through the peer\'s UDP ASSOCIATE, in both modes', async () => {
    await d.call('escaper_publish', { name: 'psocks', data: { type: 'socks5', addr: `127.0.0.1:${peerSocksPort}` } });
    // the echo sees the peer's socket (bound to 127.0.0.5), not this daemon's
    assert.equal(await echoThrough(await d.port('psocks_assoc'), echo.port, 'one'), '127.0.0.5|one');
    assert.equal(await echoThrough(await d.port('psocks_conn'), echo.port, 'two'), '127.0.0.5|two');
    const up = await peer.waitForTask((l) => l.fields.task_type === 'UdpAssociate' && l.fields.r_wr_packets === '1');
    assert.equal(up.fields.initial_peer, `127.0.0.1:${echo.port}`);
    const front = await d.waitForTask((l) => l.fields.task_type === 'UdpConnect' && l.fields.server_name === 'psocks_conn');
    assert.equal(front.fields.escaper, 'psocks');
    assert.equal(front.fields.upstream, `127.0.0.1:${echo.port}`);
  });

  it('proxy_float with an http peer refuses UDP: X\'07\' to ASSOCIATE, UnimplementedProtocol for udp connect', async () => {
    await d.call('escaper_publish', { name: 'phttp', data: { type: 'http', addr: `127.0.0.1:${peerHttpPort}` } });
    await assert.rejects(socksUdpAssociate(await d.port('phttp_assoc')), / - CommandNotSupported$/);
    const refused = await d.waitForTask((l) => l.fields.task_type === 'UdpAssociate' && l.fields.server_name === 'phttp_assoc');
    assert.equal(refused.fields.reason, 'UnimplementedProtocol');
    // udp connect has answered the ASSOCIATE already; its first datagram ends the task
    const { relayPort, control } = await socksUdpAssociate(await d.port('phttp_conn'));
    const udp = createSocket('udp4');
    try {
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
      udp.send(SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: echo.port }, data: Buffer.from('no') }), relayPort, '127.0.0.1');
      const log = await d.waitForTask((l) => l.fields.task_type === 'UdpConnect' && l.fields.server_name === 'phttp_conn');
      assert.equal(log.fields.reason, 'UnimplementedProtocol');
    } finally {
      control.destroy();
      udp.close();
    }
  });
});
