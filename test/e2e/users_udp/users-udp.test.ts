/**
 * Per-user UDP policy of socks_proxy, end to end: the real daemon, the `socks` npm client over SOCKS5 with
 * username/password, UDP echo servers on loopback. Limits are checked by counting echoed datagrams of a
 * burst (never by timing); every wait is bounded.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SocksClient } from 'socks';
import { scenarioDir, startDaemon, type DaemonHandle } from '@sluice/testkit';
import { socksUdpAssociate } from '../../lib/socks-udp.js';

const here = scenarioDir(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface UdpEcho {
  port: number;
  /** datagrams received */
  got: number;
  close(): Promise<void>;
}

async function startUdpEcho(ip: string): Promise<UdpEcho> {
  const s: UdpSocket = createSocket('udp4');
  const echo = { port: 0, got: 0, close: () => new Promise<void>((r) => s.close(() => r())) };
  s.on('message', (msg, rinfo) => {
    echo.got++;
    s.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, ip, r));
  echo.port = s.address().port;
  return echo;
}

interface Session {
  control: Socket;
  udp: UdpSocket;
  relayPort: number;
  /** payloads echoed back so far */
  answers: string[];
  close(): void;
}

describe('users_udp', () => {
  let d: DaemonHandle;
  let echo: UdpEcho;
  let forbidden: UdpEcho;
  let other: UdpEcho;
  let port: number;

  before(async () => {
    echo = await startUdpEcho('127.0.0.1');
    forbidden = await startUdpEcho('127.0.0.1');
    other = await startUdpEcho('127.0.0.3');
    const yaml = readFileSync(join(here, 'sluice.yaml'), 'utf8').replaceAll('FORBIDDEN_PORT', String(forbidden.port));
    d = await startDaemon({ files: { 'main.yaml': yaml } });
    port = await d.port('socks');
  });
  after(async () => {
    await d?.stop();
    await Promise.all([echo?.close(), forbidden?.close(), other?.close()]);
  });

  async function associate(user: string): Promise<Session> {
    const { control, relayPort } = await socksUdpAssociate(port, { id: user, password: 'any' });
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const answers: string[] = [];
    udp.on('message', (m) => answers.push(SocksClient.parseUDPFrame(m).data.toString()));
    return {
      control, udp, relayPort, answers,
      close: () => {
        control.destroy();
        udp.close();
      },
    };
  }

  function send(s: Session, to: { host: string; port: number }, data: string): void {
    s.udp.send(SocksClient.createUDPFrame({ remoteHost: to, data: Buffer.from(data) }), s.relayPort, '127.0.0.1');
  }

  /** Send `n` datagrams back to back, then wait (bounded) until `expect` answers arrived or things settle. */
  async function burst(s: Session, to: { host: string; port: number }, n: number, expect = n): Promise<number> {
    for (let i = 0; i < n; i++) send(s, to, `d${i}`);
    const deadline = Date.now() + 2000;
    while (s.answers.length < expect && Date.now() < deadline) await sleep(20);
    // late stragglers of an over-budget burst would only raise the count: give them a moment
    await sleep(150);
    return s.answers.length;
  }

  const at = (e: UdpEcho, host = '127.0.0.1') => ({ host, port: e.port });

  it('socks_use_udp_associate picks UDP ASSOCIATE for that user; the server default stays udp connect', async () => {
    const a = await associate('assoc');
    const p = await associate('plain');
    try {
      assert.equal(await burst(a, at(echo), 1), 1);
      assert.equal(await burst(p, at(echo), 1), 1);
    } finally {
      a.close();
      p.close();
    }
    await d.waitForTask((l) => l.fields.user === 'assoc' && l.fields.task_type === 'UdpAssociate');
    await d.waitForTask((l) => l.fields.user === 'plain' && l.fields.task_type === 'UdpConnect');
  });

  it('udp_sock_speed_limit drops datagrams over the slice budget (not queued), unlimited users get all', async () => {
    const free = await associate('assoc');
    const slow = await associate('slow');
    try {
      const freeCount = await burst(free, at(echo), 20);
      const slowCount = await burst(slow, at(echo), 20, 3);
      assert.equal(freeCount, 20, 'no limit: every datagram is echoed');
      // 3 packets per 4096 ms slice; a burst may straddle one slice boundary
      assert.ok(slowCount >= 1 && slowCount <= 6, `slow user got ${slowCount} of 20 through`);
      // dropped, not queued: nothing more trickles in once the next slices open
      await sleep(300);
      assert.equal(slow.answers.length, slowCount);
    } finally {
      free.close();
      slow.close();
    }
  });

  it('udp_all_upload_speed_limit is shared by all UDP sessions of the user', async () => {
    const a = await associate('shared');
    const b = await associate('shared');
    try {
      const first = await burst(a, at(echo), 3);
      const second = await burst(b, at(echo), 10, 1);
      assert.equal(first, 3);
      // 4 packets per minute for the whole user: the second session gets what is left, one datagram
      assert.equal(second, 1, `second session got ${second} through`);
    } finally {
      a.close();
      b.close();
    }
  });

  it('udp_all_download_speed_limit drops answers over the user\'s budget; the requests still went out', async () => {
    const s = await associate('shared_down');
    const before = echo.got;
    try {
      const got = await burst(s, at(echo), 5, 2);
      assert.equal(echo.got - before, 5, 'upload is not limited');
      assert.equal(got, 2, `answers delivered: ${got}`);
    } finally {
      s.close();
    }
  });

  it('dst_port_filter is checked per datagram: a forbidden one is dropped, the association goes on', async () => {
    const s = await associate('filtered');
    const before = forbidden.got;
    try {
      send(s, at(forbidden), 'no');
      assert.equal(await burst(s, at(echo), 2), 2, 'allowed destination after a forbidden one');
      assert.equal(forbidden.got, before, 'the forbidden destination saw nothing');
      assert.deepEqual(s.answers, ['d0', 'd1']);
      assert.equal(s.control.destroyed, false, 'the association is still open');
    } finally {
      s.close();
    }
    const log = await d.waitForTask((l) => l.fields.user === 'filtered' && l.fields.task_type === 'UdpAssociate');
    assert.equal(log.fields.c_rd_packets, '3');
    assert.equal(log.fields.r_wr_packets, '2');
  });

  it('dst_host_filter_set is checked per datagram', async () => {
    const s = await associate('hosts');
    const before = other.got;
    try {
      send(s, at(other, '127.0.0.3'), 'no');
      assert.equal(await burst(s, at(echo), 1), 1);
      assert.equal(other.got, before, '127.0.0.3 is outside the user\'s subnet and got nothing');
    } finally {
      s.close();
    }
    // the same destination is reachable for a user without the filter
    const a = await associate('assoc');
    try {
      assert.equal(await burst(a, at(other, '127.0.0.3'), 1), 1);
    } finally {
      a.close();
    }
  });

  it('in udp connect mode the user\'s dst_port_filter checks the one destination and ends the task', async () => {
    const s = await associate('connect_filtered');
    const before = forbidden.got;
    try {
      send(s, at(forbidden), 'no');
      const log = await d.waitForTask((l) => l.fields.user === 'connect_filtered' && l.fields.task_type === 'UdpConnect');
      assert.equal(log.fields.reason, 'ForbiddenByRule');
      assert.equal(forbidden.got, before);
    } finally {
      s.close();
    }
  });
});
