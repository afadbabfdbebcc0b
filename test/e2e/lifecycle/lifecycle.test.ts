/**
 * Daemon lifecycle through the real binary: atomic reloads (a new generation that cannot bind is thrown away),
 * listener respawn on a changed address, per-object reload from an include file, dangling references at run time
 * (deny placeholder), sluice-ctl against the live daemon, SIGINT.
 */
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curl, runCtl, startDaemon, startOrigin, tcpConnect } from '@sluice/testkit';

const head = `
runtime: {server_offline_delay: 0, task_wait_delay: 0}
log: stdout
resolver: [{name: dns, type: c-ares}]
`;
const direct = `
  - name: direct
    type: direct_fixed
    resolver: dns
    egress_net_filter: {default: allow, allow: 127.0.0.1}
`;

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('reload', () => {
  it('keeps the running generation when the new one cannot bind its listener', async () => {
    const origin = await startOrigin();
    const busy = await occupy();
    const main = `${head}escaper:${direct}server:\n  - {name: a, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}\n`;
    const d = await startDaemon({ files: { 'main.yaml': main } });
    try {
      const port = await d.port('a');
      // the new config adds server b on a port somebody else holds, and also changes a's filter
      d.writeFile('main.yaml', `${main}  - {name: b, type: http_proxy, listen: 127.0.0.1:${busy.port}, escaper: direct}\n`
        .replace('escaper: direct}\n  - {name: b', `escaper: direct, dst_port_filter: {default: allow, forbid: ${origin.port}}}\n  - {name: b`));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload aborted/);
      const names = await d.call<string[]>('list', { kind: 'server' });
      assert.deepEqual(names, ['a'], 'b was not added');
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`]);
      assert.equal(r.status, 200, 'a still runs with its old config (no dst_port_filter)');
    } finally {
      await d.stop();
      busy.server.close();
      await origin.close();
    }
  });

  it('moves a server to a new listen address and keeps unchanged ones', async () => {
    const origin = await startOrigin();
    const free = await occupy();
    const newPort = free.port;
    await new Promise((r) => free.server.close(r));
    const main = `${head}escaper:${direct}server:
  - {name: a, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}
  - {name: keep, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}
`;
    const d = await startDaemon({ files: { 'main.yaml': main } });
    try {
      const oldPort = await d.port('a');
      const keepPort = await d.port('keep');
      d.writeFile('main.yaml', main.replace('{name: a, type: http_proxy, listen: 127.0.0.1:0', `{name: a, type: http_proxy, listen: 127.0.0.1:${newPort}`));
      d.signal('SIGHUP');
      await d.waitForStderr(/reload done/);
      assert.equal(await d.port('a'), newPort);
      assert.equal(await d.port('keep'), keepPort);
      assert.equal((await curl(['-x', `http://127.0.0.1:${newPort}`, `${origin.url}/`])).status, 200);
      assert.equal((await curl(['-x', `http://127.0.0.1:${keepPort}`, `${origin.url}/`])).status, 200);
      await assert.rejects(tcpConnect(oldPort), 'the old address is closed');
    } finally {
      await d.stop();
      await origin.close();
    }
  });

  it('reloads one escaper from its include file with sluice-ctl reload-escaper', async () => {
    const origin = await startOrigin();
    const d = await startDaemon({
      files: {
        'main.yaml': `${head}escaper: escaper.d\nserver:\n  - {name: a, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}\n`,
        'escaper.d/direct.yaml': direct.replace(/^  - /m, '').replace(/^    /gm, ''),
      },
    });
    try {
      const port = await d.port('a');
      assert.equal((await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`])).status, 200);
      // make the escaper deny loopback again by dropping its egress filter, then reload just it
      d.writeFile('escaper.d/direct.yaml', 'name: direct\ntype: direct_fixed\nresolver: dns\n');
      const r = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'reload-escaper', 'direct']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /success/);
      assert.equal((await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`])).status, 403);
      const bad = await runCtl(['-C', d.controlDir, '-p', String(d.pid), 'reload-escaper', 'nope']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /no escaper named 'nope'/);
    } finally {
      await d.stop();
      await origin.close();
    }
  });
});

describe('running with a dangling reference', () => {
  it('warns, then denies with a placeholder escaper and logs why', async () => {
    const origin = await startOrigin();
    const d = await startDaemon({
      files: { 'main.yaml': `${head}escaper:${direct}server:\n  - {name: a, type: http_proxy, listen: 127.0.0.1:0, escaper: drect}\n` },
    });
    try {
      await d.waitForStderr(/escaper 'drect' does not exist/);
      const port = await d.port('a');
      const r = await curl(['-x', `http://127.0.0.1:${port}`, `${origin.url}/`]);
      assert.equal(r.status, 403);
      const log = await d.waitForLog((l) => l.fields.task_type === 'HttpForward');
      assert.equal(log.fields.reason, 'EscaperNotUsable');
      assert.equal(origin.seen.length, 0);
    } finally {
      await d.stop();
      await origin.close();
    }
  });
});

describe('sluice-ctl against the daemon', () => {
  it('answers version, list, server status and listeners; SIGINT quits at once', async () => {
    const d = await startDaemon({
      files: { 'main.yaml': `${head}escaper:${direct}server:\n  - {name: a, type: http_proxy, listen: 127.0.0.1:0, escaper: direct}\n` },
    });
    try {
      const ctl = (...args: string[]) => runCtl(['-C', d.controlDir, '-p', String(d.pid), ...args]);
      assert.match((await ctl('version')).stdout, /^sluice \d+\.\d+\.\d+/);
      assert.equal((await ctl('list', 'server')).stdout.trim(), 'a');
      assert.equal((await ctl('list', 'escaper')).stdout.trim(), 'direct');
      assert.equal((await ctl('list', 'resolver')).stdout.trim(), 'dns');
      const st = await ctl('server', 'a', 'status');
      assert.match(st.stdout, /online: true/);
      assert.match(st.stdout, /alive tasks: 0/);
      const port = await d.port('a');
      assert.match((await ctl('server', 'a', 'listeners')).stdout, new RegExp(`127\\.0\\.0\\.1:${port}`));
      const missing = await ctl('server', 'zz', 'status');
      assert.notEqual(missing.code, 0);
      d.signal('SIGINT');
      assert.equal(await d.waitExit(5000), 0);
    } finally {
      await d.stop();
    }
  });
});
