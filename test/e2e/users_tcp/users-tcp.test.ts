/**
 * Per-user TCP and HTTP overrides through http_proxy, end to end: the real daemon, curl and raw CONNECT
 * tunnels, loopback origins, and `ss` to read the upstream socket's keepalive timer. A user's setting is
 * always checked beside another user's on the same server, so each test fails if the user field is ignored.
 * Every wait is bounded.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  curl, readUntil, runSluice, scenarioDir, startDaemon, startEchoServer, startOrigin, tcpConnect, type DaemonHandle, type Origin,
} from '@sluice/testkit';

const here = scenarioDir(import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A listener that never accepts: a child node process listens with a backlog of 1 and then blocks its event
 * loop (Atomics.wait, no CPU). Once the test fills the accept queue, the kernel drops further SYNs, so a
 * connect to it hangs until the connector gives up.
 */
async function startBlackhole(): Promise<{ port: number; close(): void }> {
  const code = `
    const s = require('node:net').createServer();
    s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(s.address().port + '\\n');
      setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000), 20);
    });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('blackhole did not start')), 5000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(Number(d.toString().trim()));
    });
  });
  await sleep(100);
  const fillers: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    fillers.push(s);
  }
  // the queue is full once a further connect stays pending
  const probe = connect(port, '127.0.0.1');
  probe.on('error', () => {});
  const connected = await new Promise<boolean>((r) => {
    const t = setTimeout(() => r(false), 800);
    probe.once('connect', () => {
      clearTimeout(t);
      r(true);
    });
  });
  probe.destroy();
  assert.equal(connected, false, 'the blackhole listener still completes handshakes');
  return {
    port,
    close: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** The `ss -tno` lines of established sockets whose peer port is `port` (sluice's upstream side). */
function ssTo(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tnoH', 'state', 'established', `( dport = :${port} )`], { timeout: 5000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}

describe('users_tcp', () => {
  let d: DaemonHandle;
  let origin: Origin;
  let echoA: Awaited<ReturnType<typeof startEchoServer>>;
  let echoB: Awaited<ReturnType<typeof startEchoServer>>;
  let port: number;
  let proxy: string;

  before(async () => {
    origin = await startOrigin((req, res) => {
      if (req.url === '/slow') {
        // the response head comes after 2.5 s
        const t = setTimeout(() => res.end('late'), 2500);
        res.on('close', () => clearTimeout(t));
        return;
      }
      res.end('ok');
    });
    echoA = await startEchoServer();
    echoB = await startEchoServer();
    d = await startDaemon({ files: { 'main.yaml': readFileSync(join(here, 'sluice.yaml'), 'utf8') } });
    port = await d.port('http');
    proxy = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await d?.stop();
    await Promise.all([origin?.close(), echoA?.close(), echoB?.close()]);
  });

  /** CONNECT through the proxy as `user`; resolves with the tunnel once answered 200. */
  async function tunnel(user: string, targetPort: number): Promise<Socket> {
    const s = await tcpConnect(port);
    const auth = Buffer.from(`${user}:x`).toString('base64');
    s.write(`CONNECT 127.0.0.1:${targetPort} HTTP/1.1\r\nHost: 127.0.0.1:${targetPort}\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
    const head = (await readUntil(s, (b) => b.includes('\r\n\r\n'))).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 200 /);
    s.on('error', () => {});
    return s;
  }

  it('tcp_connect caps the escaper\'s connect: the user gives up after its own each_timeout', async () => {
    const hole = await startBlackhole();
    try {
      const url = `http://127.0.0.1:${hole.port}/`;
      const t0 = Date.now();
      const [quick, plain] = await Promise.all([
        curl(['-x', proxy, '-U', 'quick:x', url], 8000),
        // the escaper's own each_timeout is 10 s: still connecting when curl gives up after 4 s
        curl(['-x', proxy, '-U', 'plain:x', url], 4000),
      ]);
      assert.equal(quick.status, 522, `quick user: ${quick.stderr}`);
      assert.equal(plain.status, 0, 'plain user: no answer within 4 s');
      assert.ok(Date.now() - t0 < 7500);
      const log = await d.waitForTask((l) => l.fields.user === 'quick' && l.fields.task_type === 'HttpForward');
      assert.equal(log.fields.reason, 'UpstreamNotConnected');
    } finally {
      hole.close();
    }
  });

  it('tcp_remote_keepalive sets the keepalive timer on the user\'s upstream socket', async () => {
    const withKa = await tunnel('ka', echoA.port);
    const without = await tunnel('plain', echoB.port);
    try {
      withKa.write('x');
      await readUntil(withKa, (b) => b.length >= 1);
      const a = await ssTo(echoA.port);
      const b = await ssTo(echoB.port);
      assert.equal(a.trim().split('\n').length, 1, a);
      assert.match(a, /timer:\(keepalive,/, `ka user's upstream: ${a}`);
      assert.ok(b.trim().length > 0, 'the plain user\'s upstream is listed');
      assert.doesNotMatch(b, /keepalive/, `plain user's upstream: ${b}`);
    } finally {
      withKa.destroy();
      without.destroy();
    }
  });

  it('socket options Node cannot set load with one warning naming the user and the option', async () => {
    assert.match(d.stderr, /user ka: tcp_remote_misc_opts\.type_of_service not applied/);
    assert.equal(d.stderr.match(/user ka:/g)?.length, 1);
    const t = await runSluice(['-t', '-c', d.dir]);
    assert.equal(t.code, 0, t.stderr);
  });

  it('task_idle_max_count of the user replaces the server\'s: its idle tunnel closes first', async () => {
    const short = await tunnel('idle1', echoA.port);
    const long = await tunnel('plain', echoA.port);
    try {
      const t0 = Date.now();
      const closed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 7000);
        short.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
        short.resume();
      });
      const ms = Date.now() - t0;
      assert.ok(closed, 'the idle1 user\'s tunnel was closed as idle');
      // a new tunnel counts as active until the first check: one to two 2 s intervals
      assert.ok(ms < 6000, `closed after ${ms}ms`);
      // the server's count of 5 checks keeps the other user's tunnel at least 8 s
      assert.equal(long.destroyed, false);
      long.write('still');
      assert.equal((await readUntil(long, (b) => b.length >= 5)).toString(), 'still');
    } finally {
      short.destroy();
      long.destroy();
    }
    const log = await d.waitForTask((l) => l.fields.user === 'idle1' && l.fields.task_type === 'TcpConnect');
    assert.equal(log.fields.reason, 'Idle');
  });

  it('http_rsp_header_recv_timeout of the user: 504 for that user, 200 for another', async () => {
    const [hurry, plain] = await Promise.all([
      curl(['-x', proxy, '-U', 'hurry:x', `${origin.url}/slow`], 8000),
      curl(['-x', proxy, '-U', 'plain:x', `${origin.url}/slow`], 8000),
    ]);
    assert.equal(hurry.status, 504);
    assert.equal(plain.status, 200);
    assert.equal(plain.body, 'late');
    const log = await d.waitForTask((l) => l.fields.user === 'hurry' && l.fields.task_type === 'HttpForward');
    assert.equal(log.fields.reason, 'UpstreamAppTimeout');
  });

  it('http_upstream_keepalive: false makes a new upstream connection per request for that user', async () => {
    const urls = [1, 2, 3].map((i) => `${origin.url}/r${i}`);
    let before = origin.connections;
    const plain = await curl(['-x', proxy, '-U', 'plain:x', ...urls]);
    assert.equal(plain.code, 0, plain.stderr);
    const plainConns = origin.connections - before;
    before = origin.connections;
    const nokeep = await curl(['-x', proxy, '-U', 'nokeep:x', ...urls]);
    assert.equal(nokeep.code, 0, nokeep.stderr);
    const nokeepConns = origin.connections - before;
    // a user without overrides shares the server's kept connections, so one kept by an earlier test may serve all three
    assert.ok(plainConns <= 1, `kept alive: at most one new origin connection for three requests, saw ${plainConns}`);
    assert.equal(nokeepConns, 3, 'keepalive off: one origin connection per request');
  });
});
