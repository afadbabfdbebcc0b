/**
 * A listener is watched through several descriptors of its one socket (runtime/handle-dup.ts), so a busy
 * daemon accepts several connections per event-loop turn: the descriptors exist, every connection is served
 * whichever descriptor accepted it, and a reload that keeps the listener keeps them.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, startDaemon, startOrigin, until } from '@sluice/testkit';

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
