/**
 * A listener is watched through several descriptors of its one socket (runtime/handle-dup.ts), so a busy
 * daemon accepts several connections per event-loop turn: the descriptors exist, every connection is served
 * whichever descriptor accepted it, and a reload that keeps the listener keeps them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, freeTcpUdpPort, SLUICE_BIN, startDaemon, startOrigin, until } from '@sluice/testkit';

/** The inode of the socket listening on 127.0.0.1:port, from /proc/net/tcp (state 0A = LISTEN). */
function listenInode(port: number): string {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === `0100007F:${hexPort}` && f[3] === '0A') return f[9]!;
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** How many of `pid`'s descriptors refer to socket `inode`. */
function descriptorsOf(pid: number, inode: string): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) n++;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

const config = (extra = '') => `runtime: {server_offline_delay: 0, task_wait_delay: 0}
log: stdout
resolver: [{name: dns, type: c-ares}]
escaper: [{name: direct, type: direct_fixed, resolver: dns, egress_net_filter: {default: allow, allow: 127.0.0.1}${extra}}]
server: [{name: http, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}]
`;


describe('accept handles', () => {
  it('watches the listening socket through 8 descriptors, serves every connection, and keeps them over a reload', async () => {
    const origin = await startOrigin();
    const d = await startDaemon({ files: { 'main.yaml': config() } });
    try {
      const port = await d.port('http');
      const inode = listenInode(port);
      await until('8 descriptors', () => descriptorsOf(d.pid, inode) === 8);
      // 40 connections at once: whichever descriptor accepts each, each is served
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/c${i}`])));
      assert.deepEqual(all.map((r) => r.status), Array(40).fill(200));
      const logs = await d.waitForLog((l) => l.fields.uri === `${origin.url}/c39`);
      assert.equal(logs.fields.rsp_status, "200");
      // a reload that changes the escaper keeps the server's listener: same socket, same descriptors
      d.writeFile('main.yaml', config(', tcp_keepalive: {enable: true}'));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload/i);
      assert.equal(listenInode(port), inode);
      assert.equal(descriptorsOf(d.pid, inode), 8);
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/after-reload`]);
      assert.equal(r.status, 200);
    } finally {
      await d.stop();
      await origin.close();
    }
  });

  it('serves a connection that arrives while the daemon is still starting (bound, not yet committed)', async () => {
    const origin = await startOrigin();
    const port = await freeTcpUdpPort();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-early-'));
    writeFileSync(join(dir, 'main.yaml'), config().replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`));
    const daemon = spawn(process.execPath, [SLUICE_BIN, '-c', dir, '-C', dir], { stdio: 'ignore' });
    try {
      // knock until the port takes a connection (every 2 ms, for at most 10 s), then ask at once
      const sock = await new Promise<import('node:net').Socket>((resolve, reject) => {
        const end = Date.now() + 10_000;
        const knock = () => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => resolve(s));
          s.once('error', () => (Date.now() > end ? reject(new Error('the daemon never listened')) : setTimeout(knock, 2)));
        };
        knock();
      });
      sock.write(`GET ${origin.url}/early HTTP/1.1\r\nHost: ${new URL(origin.url).host}\r\nConnection: close\r\n\r\n`);
      const reply = await new Promise<string>((resolve) => {
        let got = '';
        sock.on('data', (d) => (got += d));
        sock.on('close', () => resolve(got));
        sock.on('error', () => resolve(got));
      });
      assert.match(reply, /^HTTP\/1\.1 200 /, reply.slice(0, 200));
    } finally {
      daemon.kill('SIGKILL');
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SLUICE_ACCEPT_HANDLES=1 keeps the one descriptor', async () => {
    const d = await startDaemon({ files: { 'main.yaml': config() }, env: { SLUICE_ACCEPT_HANDLES: '1' } });
    try {
      const port = await d.port('http');
      const inode = listenInode(port);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(descriptorsOf(d.pid, inode), 1);
    } finally {
      await d.stop();
    }
  });
});
