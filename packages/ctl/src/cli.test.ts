import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ControlServer, type ControlHandlerTable } from '@sluice/control';

import { COMMANDS } from './commands.js';

const BIN = fileURLToPath(new URL('./bin/sluice-ctl.js', import.meta.url));
const UNIQUE_PID = 4242;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built sluice-ctl as a child process, bounded in time. */
function run(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

describe('sluice-ctl against a control server', () => {
  let dir: string;
  let groupServer: ControlServer;
  let uniqueServer: ControlServer;
  const calls: Array<{ method: string; params: unknown }> = [];

  function lastCall(): { method: string; params: unknown } | undefined {
    return calls.at(-1);
  }

  function recorded<P, R>(method: string, impl: (params: P) => R): (params: P) => R {
    return (params) => {
      calls.push({ method, params });
      return impl(params);
    };
  }

  const handlers: ControlHandlerTable = {
    version: recorded('version', () => 'sluice 1.2.3'),
    offline: recorded('offline', () => 'success'),
    cancel_shutdown: recorded('cancel_shutdown', () => 'success'),
    list: recorded('list', ({ kind }) => (kind === 'server' ? ['http', 'socks'] : [])),
    reload: recorded('reload', () => 'success'),
    server_status: recorded('server_status', ({ name }) => {
      if (name !== 'http') throw new Error(`server ${name} not found`);
      return { online: true, alive_task_count: 3, total_conn_count: 40, total_task_count: 52 };
    }),
    server_listeners: recorded('server_listeners', ({ name }) => [
      { server: name ?? 'http', type: 'tcp', address: '127.0.0.1', port: 3128 },
      { server: name ?? 'http', type: 'tcp', address: '::1', port: 3129 },
    ]),
    force_quit: recorded('force_quit', () => 'success'),
    force_quit_all: recorded('force_quit_all', () => 'success'),
    escaper_publish: recorded('escaper_publish', () => 'success'),
    resolver_query: recorded('resolver_query', ({ domain }) =>
      domain === 'nx.example' ? { err: 'no record found' } : { ip: ['192.0.2.1', '2001:db8::1'] },
    ),
    user_group_list_static_user: recorded('user_group_list_static_user', () => ['alice', 'bob']),
    user_group_list_dynamic_user: recorded('user_group_list_dynamic_user', () => []),
    user_group_publish_user: recorded('user_group_publish_user', () => 'success'),
    reload_config: recorded('reload_config', () => 'success'),
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-ctl-'));
    groupServer = new ControlServer({ path: join(dir, 'edge.sock'), handlers, version: 'sluice 1.2.3' });
    // The unique (per-pid) socket answers `version` differently so the tests can tell which one was used.
    uniqueServer = new ControlServer({
      path: join(dir, `edge_${UNIQUE_PID}.sock`),
      handlers: { ...handlers, version: () => 'sluice unique' },
      version: 'sluice unique',
    });
    await groupServer.start();
    await uniqueServer.start();
  });

  after(async () => {
    await groupServer.close();
    await uniqueServer.close();
    await rm(dir, { recursive: true, force: true });
  });

  const g = (): string[] => ['-C', dir, '-G', 'edge'];

  test('version, via the group socket and via the per-pid socket', async () => {
    assert.deepEqual(await run([...g(), 'version']), { code: 0, stdout: 'sluice 1.2.3\n', stderr: '' });
    const unique = await run(['--control-dir', dir, '--daemon-group=edge', '-p', String(UNIQUE_PID), 'version']);
    assert.deepEqual(unique, { code: 0, stdout: 'sluice unique\n', stderr: '' });
    // --socket names the path directly; global options may also follow the command
    const direct = await run(['version', '--socket', join(dir, 'edge.sock')]);
    assert.equal(direct.stdout, 'sluice 1.2.3\n');
  });

  test('list takes the kind case-insensitively and prints one name per line', async () => {
    const r = await run([...g(), 'list', 'SERVER']);
    assert.deepEqual(r, { code: 0, stdout: 'http\nsocks\n', stderr: '' });
    assert.deepEqual(lastCall(), { method: 'list', params: { kind: 'server' } });
    await run([...g(), 'list', 'User-Group']);
    assert.deepEqual(lastCall(), { method: 'list', params: { kind: 'user_group' } });
    const bad = await run([...g(), 'list', 'widgets']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^cli error: invalid kind 'widgets'/);
  });

  test('operations print notice: success', async () => {
    for (const [args, method, params] of [
      [['offline'], 'offline', {}],
      [['cancel-shutdown'], 'cancel_shutdown', {}],
      [['reload'], 'reload_config', {}],
      [['reload-escaper', 'float1'], 'reload', { kind: 'escaper', name: 'float1' }],
      [['reload-user-group', 'staff'], 'reload', { kind: 'user_group', name: 'staff' }],
      [['force-quit', 'old-http'], 'force_quit', { name: 'old-http' }],
      [['force-quit-all'], 'force_quit_all', {}],
    ] as const) {
      const r = await run([...g(), ...args]);
      assert.deepEqual(r, { code: 0, stdout: 'notice: success\n', stderr: '' }, args.join(' '));
      assert.deepEqual(lastCall(), { method, params });
    }
  });

  test('server <name> status and listeners', async () => {
    const status = await run([...g(), 'server', 'http', 'status']);
    assert.deepEqual(status, {
      code: 0,
      stdout: 'online: true\nalive tasks: 3\ntotal conn: 40\ntotal task: 52\n',
      stderr: '',
    });
    const listeners = await run([...g(), 'server', 'http', 'listeners']);
    assert.equal(listeners.stdout, 'tcp 127.0.0.1:3128\ntcp [::1]:3129\n');
    assert.deepEqual(lastCall(), { method: 'server_listeners', params: { name: 'http' } });
  });

  test('a daemon-side failure is an api error on stderr with exit 1', async () => {
    const r = await run([...g(), 'server', 'nope', 'status']);
    assert.deepEqual(r, { code: 1, stdout: '', stderr: 'api error (code: -1, reason: server nope not found)\n' });
  });

  test('escaper publish validates JSON before sending, inline or from a file', async () => {
    const inline = await run([...g(), 'escaper', 'float1', 'publish', '{"ipv4":"192.0.2.7"}']);
    assert.equal(inline.stdout, 'notice: success\n');
    assert.deepEqual(lastCall(), { method: 'escaper_publish', params: { name: 'float1', data: '{"ipv4":"192.0.2.7"}' } });

    const file = join(dir, 'float.json');
    await writeFile(file, '{"ipv6": "2001:db8::7"}\n');
    const fromFile = await run([...g(), 'escaper', 'float1', 'publish', '-f', file]);
    assert.equal(fromFile.code, 0);
    assert.deepEqual(lastCall(), { method: 'escaper_publish', params: { name: 'float1', data: '{"ipv6": "2001:db8::7"}\n' } });

    const before = calls.length;
    const bad = await run([...g(), 'escaper', 'float1', 'publish', '{ipv4: 1}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^cli error: the data to publish is not valid json/);
    const missing = await run([...g(), 'escaper', 'float1', 'publish', '-f', join(dir, 'absent.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^cli error: failed to read contents of file .*absent\.json/);
    assert.equal(calls.length, before, 'nothing reached the daemon');
  });

  test('resolver query prints IPs one per line; strategy and delay are passed on', async () => {
    const r = await run([...g(), 'resolver', 'main', 'query', 'www.example', '-s', 'ipv4_first']);
    assert.deepEqual(r, { code: 0, stdout: '192.0.2.1\n2001:db8::1\n', stderr: '' });
    assert.deepEqual(lastCall(), {
      method: 'resolver_query',
      params: { name: 'main', domain: 'www.example', resolution_delay: 50, strategy: 'Ipv4First' },
    });
    await run([...g(), 'resolver', 'main', 'query', 'www.example', '--resolution-delay', '10']);
    assert.deepEqual(lastCall(), {
      method: 'resolver_query',
      params: { name: 'main', domain: 'www.example', resolution_delay: 10 },
    });
    const nx = await run([...g(), 'resolver', 'main', 'query', 'nx.example']);
    assert.deepEqual(nx, { code: 1, stdout: '', stderr: 'api error (code: -1, reason: no record found)\n' });
    const badStrategy = await run([...g(), 'resolver', 'main', 'query', 'www.example', '-s', 'ipv5']);
    assert.equal(badStrategy.code, 2);
    assert.match(badStrategy.stderr, /invalid query strategy: ipv5/);
  });

  test('user-group listing and publishing (with its aliases)', async () => {
    const list = await run([...g(), 'user-group', 'staff', 'list-static-user']);
    assert.deepEqual(list, { code: 0, stdout: 'alice\nbob\n', stderr: '' });
    const empty = await run([...g(), 'user-group', 'staff', 'list-dynamic-user']);
    assert.deepEqual(empty, { code: 0, stdout: '', stderr: '' });
    const file = join(dir, 'users.json');
    await writeFile(file, '[{"name":"carol","token":{"salt":"s","md5":"m","sha1":"h"}}]');
    for (const sub of ['publish-user', 'publish', 'publish-dynamic-user']) {
      const r = await run([...g(), 'user-group', 'staff', sub, file]);
      assert.equal(r.stdout, 'notice: success\n', sub);
      assert.deepEqual(lastCall(), {
        method: 'user_group_publish_user',
        params: { name: 'staff', contents: '[{"name":"carol","token":{"salt":"s","md5":"m","sha1":"h"}}]' },
      });
    }
  });

  test('no daemon at the socket is an rpc error', async () => {
    const r = await run(['-C', dir, '-G', 'ghost', 'version']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^rpc error: failed to connect to control socket .*ghost\.sock/);
  });

  test('usage errors exit 2 with a cli error', async () => {
    const noTarget = await run(['version']);
    assert.equal(noTarget.code, 2);
    assert.match(noTarget.stderr, /^cli error: one of -G\/--daemon-group, -p\/--daemon-pid or --socket is required/);
    const unknown = await run([...g(), 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^cli error: unknown command 'frobnicate'/);
    const badPid = await run(['-p', 'abc', 'version']);
    assert.equal(badPid.code, 2);
    assert.match(badPid.stderr, /invalid daemon pid: abc/);
  });

  test('--help lists every command and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const def of Object.values(COMMANDS)) assert.ok(r.stdout.includes(def.usage), def.usage);
  });
});
