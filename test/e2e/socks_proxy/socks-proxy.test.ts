/**
 * The socks_proxy server end to end: the real daemon on 127.0.0.1 with real clients (curl's SOCKS4, 4a, 5 and
 * 5h, the `socks` npm package), real origins (HTTP, TLS, TCP echo, UDP echo) and a dnsmasq for names.
 * Covers CONNECT, remote DNS, TLS inside the tunnel, UDP ASSOCIATE and g3's udp connect to an IP and to a
 * name, refusals with their reply codes, and the task log records.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SocksClient, type SocksProxy } from 'socks';
import {
  curl, makePki, readUntil, removePki, scenarioDir, startDaemon, startDnsmasq, startEchoServer, startOrigin, startTlsOrigin,
  type DaemonHandle, type DnsServer, type Origin, type TestPki,
} from '@sluice/testkit';
import { socksUdpAssociate } from '../../lib/socks-udp.js';

const here = scenarioDir(import.meta.url);
const yamlTemplate = readFileSync(join(here, 'sluice.yaml'), 'utf8');

interface UdpEcho {
  port: number;
  close(): Promise<void>;
}

async function startUdpEcho(): Promise<UdpEcho> {
  const s: UdpSocket = createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(Buffer.concat([Buffer.from('echo:'), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** Send one datagram and wait (bounded) for one back. */
function udpRoundTrip(sock: UdpSocket, data: Buffer, port: number, host: string, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      sock.off('message', onMsg);
      reject(new Error('no UDP answer in time'));
    }, timeoutMs);
    const onMsg = (msg: Buffer) => {
      clearTimeout(t);
      sock.off('message', onMsg);
      resolve(msg);
    };
    sock.on('message', onMsg);
    sock.send(data, port, host);
  });
}

describe('socks_proxy', () => {
  let d: DaemonHandle;
  let dns: DnsServer;
  let origin: Origin;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;
  let udpEcho: UdpEcho;
  let pki: TestPki;
  let tlsOrigin: Awaited<ReturnType<typeof startTlsOrigin>>;
  let port: number;
  let udpPort: number;
  let denyPort: number;
  const proxy = (p: number, type: 4 | 5 = 5): SocksProxy => ({ host: '127.0.0.1', port: p, type });

  before(async () => {
    dns = await startDnsmasq({ 'origin.sluice.test': ['127.0.0.1'], 'echo.sluice.test': ['127.0.0.1'], 'tls.sluice.test': ['127.0.0.1'] });
    origin = await startOrigin();
    echo = await startEchoServer();
    udpEcho = await startUdpEcho();
    pki = makePki(['tls.sluice.test']);
    tlsOrigin = await startTlsOrigin(pki);
    d = await startDaemon({ files: { 'main.yaml': yamlTemplate.replaceAll('DNS_PORT', String(dns.port)) } });
    port = await d.port('socks');
    udpPort = await d.port('socks_udp');
    denyPort = await d.port('socks_deny');
  });
  after(async () => {
    await d?.stop();
    await Promise.all([dns?.close(), origin?.close(), echo?.close(), udpEcho?.close(), tlsOrigin?.close()]);
    if (pki) removePki(pki);
  });

  it('curl --socks5 reaches an IP origin and logs a TcpConnect task', async () => {
    const r = await curl(['--socks5', `127.0.0.1:${port}`, `${origin.url}/hello`]);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello');
    const log = await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.server_name === 'socks' && l.fields.upstream === `127.0.0.1:${origin.port}`);
    assert.equal(log.fields.server_type, 'SocksProxy');
    assert.equal(log.fields.escaper, 'direct');
    assert.equal(log.fields.reason, 'ClosedByClient');
    assert.match(log.fields.client_addr!, /^127\.0\.0\.1:\d+$/);
    assert.equal(log.fields.server_addr, `127.0.0.1:${port}`);
    assert.equal(log.fields.next_peer_addr, `127.0.0.1:${origin.port}`);
    assert.ok(Number(log.fields.r_rd_bytes) > 0 && Number(log.fields.c_wr_bytes) > Number(log.fields.r_rd_bytes));
  });

  it('curl --socks5-hostname resolves the name through the escaper\'s resolver (socks5h)', async () => {
    const r = await curl(['--socks5-hostname', `127.0.0.1:${port}`, `http://origin.sluice.test:${origin.port}/hello`]);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello');
    await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.upstream === `origin.sluice.test:${origin.port}` && l.fields.next_peer_addr === `127.0.0.1:${origin.port}`);
  });

  it('curl --socks4 and --socks4a', async () => {
    const r4 = await curl(['--socks4', `127.0.0.1:${port}`, `${origin.url}/hello`]);
    assert.equal(r4.status, 200);
    assert.equal(r4.body, 'hello');
    const r4a = await curl(['--socks4a', `127.0.0.1:${port}`, `http://origin.sluice.test:${origin.port}/hello`]);
    assert.equal(r4a.status, 200);
    assert.equal(r4a.body, 'hello');
    await d.waitForLog((l) => l.fields.task_type === 'TcpConnect' && l.fields.upstream === `origin.sluice.test:${origin.port}` && l.fields.reason === 'ClosedByClient');
  });

  it('the socks package: CONNECT over SOCKS5 and SOCKS4 carries bytes both ways', async () => {
    for (const type of [5, 4] as const) {
      const { socket } = await SocksClient.createConnection({ proxy: proxy(port, type), command: 'connect', destination: { host: '127.0.0.1', port: echo.port }, timeout: 5000 });
      const payload = Buffer.alloc(200_000, type);
      socket.write(payload);
      const back = await readUntil(socket, (b) => b.length >= payload.length, 5000);
      assert.ok(back.subarray(0, payload.length).equals(payload));
      socket.destroy();
    }
  });

  it('TLS inside a SOCKS5 tunnel (remote name)', async () => {
    const { socket } = await SocksClient.createConnection({ proxy: proxy(port), command: 'connect', destination: { host: 'tls.sluice.test', port: tlsOrigin.port }, timeout: 5000 });
    const tls = tlsConnect({ socket, servername: 'tls.sluice.test', ca: pki.caCert });
    await new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve);
      tls.once('error', reject);
    });
    tls.write('GET / HTTP/1.1\r\nHost: tls.sluice.test\r\n\r\n');
    const body = await readUntil(tls as unknown as import('node:net').Socket, (b) => b.includes('tls-hello'), 5000);
    assert.match(body.toString(), /^HTTP\/1\.1 200/);
    tls.destroy();
  });

  it('refusals carry RFC 1928 reply codes: refused (05), forbidden port (02), deny escaper (02)', async () => {
    const refused = await SocksClient.createConnection({ proxy: proxy(port), command: 'connect', destination: { host: '127.0.0.1', port: 1 }, timeout: 5000 }).then(() => 'ok', (e: Error) => e.message);
    assert.match(refused, /ConnectionRefused/);
    const forbidden = await SocksClient.createConnection({ proxy: proxy(port), command: 'connect', destination: { host: '127.0.0.1', port: 9 }, timeout: 5000 }).then(() => 'ok', (e: Error) => e.message);
    assert.match(forbidden, /NotAllowed/);
    const denied = await SocksClient.createConnection({ proxy: proxy(denyPort), command: 'connect', destination: { host: '127.0.0.1', port: echo.port }, timeout: 5000 }).then(() => 'ok', (e: Error) => e.message);
    assert.match(denied, /NotAllowed/);
    await d.waitForLog((l) => l.fields.upstream === '127.0.0.1:1' && l.fields.reason === 'UpstreamNotConnected');
    await d.waitForLog((l) => l.fields.upstream === '127.0.0.1:9' && l.fields.reason === 'ForbiddenByRule');
    await d.waitForLog((l) => l.fields.server_name === 'socks_deny' && l.fields.reason === 'EscaperNotUsable');
  });

  /** UDP ASSOCIATE plus a bound local UDP socket to talk to the relay from. */
  async function associate(serverPort: number): Promise<{ relayPort: number; control: import('node:net').Socket; udp: UdpSocket }> {
    const { relayPort, control } = await socksUdpAssociate(serverPort);
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    return { relayPort, control, udp };
  }

  it('UDP ASSOCIATE relays datagrams to an IP and to a name, and logs UdpAssociate', async () => {
    const { relayPort, control, udp } = await associate(udpPort);
    assert.ok(relayPort >= 41000 && relayPort <= 41999, `relay port ${relayPort} is in udp_bind_port_range`);
    try {
      const toIp = SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: udpEcho.port }, data: Buffer.from('one') });
      const a = SocksClient.parseUDPFrame(await udpRoundTrip(udp, toIp, relayPort, '127.0.0.1'));
      assert.equal(a.data.toString(), 'echo:one');
      assert.equal(a.remoteHost.host, '127.0.0.1');
      assert.equal(a.remoteHost.port, udpEcho.port);
      const toName = SocksClient.createUDPFrame({ remoteHost: { host: 'echo.sluice.test', port: udpEcho.port }, data: Buffer.from('two') });
      const b = SocksClient.parseUDPFrame(await udpRoundTrip(udp, toName, relayPort, '127.0.0.1'));
      assert.equal(b.data.toString(), 'echo:two');
      // ASSOCIATE answers with the real source address
      assert.equal(b.remoteHost.host, '127.0.0.1');
    } finally {
      control.destroy();
      udp.close();
    }
    const log = await d.waitForLog((l) => l.fields.task_type === 'UdpAssociate');
    assert.equal(log.fields.server_name, 'socks_udp');
    assert.equal(log.fields.initial_peer, `127.0.0.1:${udpEcho.port}`);
    assert.equal(log.fields.udp_listen_addr, `127.0.0.1:${relayPort}`);
    assert.match(log.fields.tcp_client_addr!, /^127\.0\.0\.1:\d+$/);
    assert.equal(log.fields.c_rd_packets, '2');
    assert.equal(log.fields.c_wr_packets, '2');
    assert.equal(log.fields.r_rd_packets, '2');
    assert.equal(log.fields.r_wr_packets, '2');
    assert.equal(log.fields.client_addr, undefined);
  });

  it('UDP connect (the default mode) to a name: the first datagram fixes the upstream', async () => {
    const { relayPort, control, udp } = await associate(port);
    try {
      const first = SocksClient.createUDPFrame({ remoteHost: { host: 'echo.sluice.test', port: udpEcho.port }, data: Buffer.from('a') });
      const a = SocksClient.parseUDPFrame(await udpRoundTrip(udp, first, relayPort, '127.0.0.1'));
      assert.equal(a.data.toString(), 'echo:a');
      // answers carry the upstream as the client named it
      assert.equal(a.remoteHost.host, 'echo.sluice.test');
      // a later datagram naming another destination still goes to the fixed upstream
      const second = SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: 9 }, data: Buffer.from('b') });
      const b = SocksClient.parseUDPFrame(await udpRoundTrip(udp, second, relayPort, '127.0.0.1'));
      assert.equal(b.data.toString(), 'echo:b');
    } finally {
      control.destroy();
      udp.close();
    }
    const log = await d.waitForLog((l) => l.fields.task_type === 'UdpConnect');
    assert.equal(log.fields.upstream, `echo.sluice.test:${udpEcho.port}`);
    assert.equal(log.fields.next_peer_addr, `127.0.0.1:${udpEcho.port}`);
    assert.equal(log.fields.reason, 'ClosedByClient');
    assert.equal(log.fields.r_wr_packets, '2');
  });

  it('UDP to a forbidden port ends the association with ForbiddenByRule', async () => {
    const { relayPort, control, udp } = await associate(port);
    try {
      udp.send(SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: 9 }, data: Buffer.from('x') }), relayPort, '127.0.0.1');
      await readUntil(control, () => false, 3000).catch(() => {});
    } finally {
      control.destroy();
      udp.close();
    }
    await d.waitForLog((l) => l.fields.task_type === 'UdpConnect' && l.fields.upstream === '127.0.0.1:9' && l.fields.reason === 'ForbiddenByRule');
  });

  it('UDP: transmute_udp_echo_ip, client address binding, packet size and packet rate limits', async () => {
    const tightPort = await d.port('socks_udp_tight');
    // by hand, to see the reply's bytes: transmute_udp_echo_ip: true advertises 0.0.0.0 (clients then keep
    // using the proxy's address; the socks package does exactly that)
    const control = connect(tightPort, '127.0.0.1');
    control.on('error', () => {});
    control.write(Buffer.from([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const reply = await readUntil(control, (b) => b.length >= 12, 3000);
    assert.deepEqual([...reply.subarray(0, 6)], [5, 0, 5, 0, 0, 1]);
    assert.deepEqual([...reply.subarray(6, 10)], [0, 0, 0, 0]);
    const relayPort = reply.readUInt16BE(10);
    const info = { socket: control };
    const udp = createSocket('udp4');
    const stranger = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.2', r));
    const frame = (t: string | Buffer) => SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: udpEcho.port }, data: typeof t === 'string' ? Buffer.from(t) : t });
    const answers: string[] = [];
    udp.on('message', (m) => answers.push(SocksClient.parseUDPFrame(m).data.toString()));
    let strangerGot = 0;
    stranger.on('message', () => strangerGot++);
    try {
      // a datagram from another address than the TCP client's is not relayed
      stranger.send(frame('stranger'), relayPort, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 100));
      udp.send(frame('p1'), relayPort, '127.0.0.1');
      // over udp_relay_packet_size (1K): dropped
      udp.send(frame(Buffer.alloc(2000, 0x61)), relayPort, '127.0.0.1');
      udp.send(frame('p2'), relayPort, '127.0.0.1');
      udp.send(frame('p3'), relayPort, '127.0.0.1');
      // 3 packets per ~4s slice: these are over the budget
      udp.send(frame('p4'), relayPort, '127.0.0.1');
      udp.send(frame('p5'), relayPort, '127.0.0.1');
      const deadline = Date.now() + 2000;
      while (answers.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(answers.sort(), ['echo:p1', 'echo:p2', 'echo:p3']);
      assert.equal(strangerGot, 0);
    } finally {
      info.socket.destroy();
      udp.close();
      stranger.close();
    }
    const log = await d.waitForLog((l) => l.fields.task_type === 'UdpAssociate' && l.fields.server_name === 'socks_udp_tight');
    assert.equal(log.fields.c_rd_packets, '3');
    assert.equal(log.fields.r_rd_packets, '3');
  });

  it('tcp_sock_speed_limit paces a tunnel (16 KiB per 256 ms slice each way)', async () => {
    const slowPort = await d.port('socks_slow');
    const { socket } = await SocksClient.createConnection({ proxy: proxy(slowPort), command: 'connect', destination: { host: '127.0.0.1', port: echo.port }, timeout: 5000 });
    const payload = Buffer.alloc(80 * 1024, 7);
    const t0 = Date.now();
    socket.write(payload);
    const back = await readUntil(socket, (b) => b.length >= payload.length, 10_000);
    const ms = Date.now() - t0;
    socket.destroy();
    assert.ok(back.equals(payload));
    // 80 KiB at 16 KiB per 256 ms needs at least 4 full slices
    assert.ok(ms >= 900, `took ${ms}ms`);
  });

  it('an idle tunnel is closed at the first idle check (g3\'s socks default task_idle_max_count 1)', async () => {
    const idlePort = await d.port('socks_idle');
    const { socket } = await SocksClient.createConnection({ proxy: proxy(idlePort), command: 'connect', destination: { host: '127.0.0.1', port: echo.port }, timeout: 5000 });
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 7000);
      socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      socket.resume();
    });
    const ms = Date.now() - t0;
    assert.equal(socket.destroyed, true);
    // a new tunnel counts as active until the first check, so it lives one to two check intervals
    assert.ok(ms >= 1900 && ms < 6500, `closed after ${ms}ms`);
    await d.waitForLog((l) => l.fields.server_name === 'socks_idle' && l.fields.reason === 'Idle');
  });

  it('UDP connect through a deny escaper ends at the first datagram with EscaperNotUsable', async () => {
    // the default udp connect mode answers success first and asks the escaper at the first datagram
    const { relayPort, control, udp } = await associate(denyPort);
    try {
      udp.send(SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: udpEcho.port }, data: Buffer.from('x') }), relayPort, '127.0.0.1');
      await d.waitForLog((l) => l.fields.task_type === 'UdpConnect' && l.fields.server_name === 'socks_deny' && l.fields.reason === 'EscaperNotUsable');
    } finally {
      control.destroy();
      udp.close();
    }
  });
});
