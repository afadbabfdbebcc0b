/**
 * udp_remote_misc_opts end to end: the TTL of the UDP socket a direct escaper opens towards the upstream is the
 * smaller of the escaper's udp_misc_opts and the user's udp_remote_misc_opts. The upstream is a small Python
 * UDP echo that answers with the TTL each datagram arrived with (IP_RECVTTL; loopback does not decrement it),
 * reached through socks_proxy with username/password, in udp connect mode and in UDP ASSOCIATE mode.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SocksClient } from 'socks';
import { scenarioDir, startDaemon, type DaemonHandle } from '@sluice/testkit';
import { socksUdpAssociate } from '../../lib/socks-udp.js';

const here = scenarioDir(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startTtlEcho(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn('python3', [join(here, 'ttl-echo.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('ttl echo did not start in 10 s')), 10_000);
    let buf = '';
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(t);
        resolve(Number(buf.slice(0, nl)));
      }
    });
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`ttl echo exited (${code})`)));
  });
  return { port, proc };
}

describe('users_udp_ttl', () => {
  let d: DaemonHandle;
  let echo: { port: number; proc: ChildProcess };

  before(async () => {
    echo = await startTtlEcho();
    d = await startDaemon({ files: { 'main.yaml': readFileSync(join(here, 'sluice.yaml'), 'utf8') } });
  });
  after(async () => {
    await d?.stop();
    echo?.proc.stdin?.end();
    const t = setTimeout(() => echo?.proc.kill('SIGKILL'), 2000);
    if (echo && echo.proc.exitCode === null) await new Promise((r) => echo.proc.once('exit', r));
    clearTimeout(t);
  });

  /** The TTL the echo saw for one datagram sent by `user` through `server`. */
  async function ttlThrough(server: string, user: string): Promise<string> {
    const port = await d.port(server);
    const { control, relayPort } = await socksUdpAssociate(port, { id: user, password: 'any' });
    const udp = createSocket('udp4');
    try {
      await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
      const answers: string[] = [];
      udp.on('message', (m) => answers.push(SocksClient.parseUDPFrame(m).data.toString()));
      const frame = SocksClient.createUDPFrame({ remoteHost: { host: '127.0.0.1', port: echo.port }, data: Buffer.from('x') });
      // UDP may drop: resend a few times, bounded
      for (let i = 0; i < 5 && answers.length === 0; i++) {
        udp.send(frame, relayPort, '127.0.0.1');
        const deadline = Date.now() + 1000;
        while (answers.length === 0 && Date.now() < deadline) await sleep(20);
      }
      assert.ok(answers.length > 0, `no answer for ${user} through ${server}`);
      return answers[0]!;
    } finally {
      control.destroy();
      udp.close();
    }
  }

  it('the escaper\'s udp_misc_opts sets the TTL for users without their own', async () => {
    assert.equal(await ttlThrough('socks_capped', 'plain'), 'ttl=33');
  });

  it('a user\'s smaller TTL wins, in udp connect and in UDP ASSOCIATE mode', async () => {
    assert.equal(await ttlThrough('socks_capped', 'low'), 'ttl=7');
    assert.equal(await ttlThrough('socks_capped', 'low_assoc'), 'ttl=7');
    await d.waitForTask((l) => l.fields.user === 'low_assoc' && l.fields.task_type === 'UdpAssociate');
  });

  it('the escaper caps a larger user TTL; without an escaper value the user\'s applies', async () => {
    assert.equal(await ttlThrough('socks_capped', 'high'), 'ttl=33');
    assert.equal(await ttlThrough('socks_open', 'high'), 'ttl=99');
  });
});
