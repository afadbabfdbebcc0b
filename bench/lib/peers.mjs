// The proxies under test: sluice and the Debian peers (squid, dante, microsocks), each started on 127.0.0.1
// with a temporary config, pinned to the proxy core, and removed again by stop().
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NOFILE_MAX, freePort, startPinned, waitPort } from './proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
// --sluice (or SLUICE_BENCH_BIN) points at another build, e.g. a branch's worktree, to bench it unmerged
export const SLUICE_BIN = process.env.SLUICE_BENCH_BIN || join(ROOT, 'packages/daemon/dist/bin/sluice.js');

function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `sluice-bench-${prefix}-`));
  // squid and dante drop privileges when started as root: let them write their logs and pid files here
  chmodSync(dir, 0o777);
  return dir;
}

async function started(peer, port, dir) {
  try {
    await waitPort(port, 15_000, () => peer.alive);
  } catch (e) {
    await peer.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${peer.name} did not start: ${e.message}\n${peer.stderr.slice(-2000)}`);
  }
  const stop = peer.stop;
  return Object.assign(peer, {
    port,
    dir,
    async stop() {
      await stop.call(peer, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

// ---- sluice ----

/** The YAML for a sluice with the given server entries (strings already indented as list items). */
export function sluiceYaml({ servers, escapers = [], userGroups = [], log = 'discard', stat }) {
  const lines = [
    'runtime:',
    '  server_offline_delay: 0',
    '  task_wait_delay: 0',
    '  task_wait_timeout: 1s',
    `log: ${log}`,
  ];
  if (stat) lines.push('stat:', ...stat.map((l) => `  ${l}`));
  lines.push(
    'resolver:',
    '  - name: default',
    '    type: c-ares',
    'escaper:',
    '  - name: direct',
    '    type: direct_fixed',
    '    resolver: default',
    '    egress_network_filter:',
    '      default: allow',
    '      allow: 127.0.0.1',
    ...escapers,
  );
  if (userGroups.length) lines.push('user_group:', ...userGroups);
  lines.push('server:', ...servers);
  return lines.join('\n') + '\n';
}

/** `sluice -t` on a config: { ok, message } (message = the error chain when not ok). */
export function checkSluiceConfig(yaml) {
  const dir = tempDir('check');
  try {
    writeFileSync(join(dir, 'main.yaml'), yaml);
    const r = spawnSync(process.execPath, [SLUICE_BIN, '-t', '-c', dir], { encoding: 'utf8', timeout: 30_000 });
    const message = (r.stderr || r.stdout || '').trim().split('\n').slice(-4).join(' | ');
    return { ok: r.status === 0, message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Start sluice on `core` with `yaml` (its listen ports chosen by the caller) and wait for `port`.
 * `stdout`: 'ignore' or 'pipe' (task logs). `profileDir`: run under `node --cpu-prof`.
 */
export async function startSluice({ yaml, port, core, stdout = 'ignore', profileDir }) {
  const dir = tempDir('sluice');
  writeFileSync(join(dir, 'main.yaml'), yaml);
  const ctl = join(dir, 'ctl');
  mkdirSync(ctl);
  // extra node flags for experiments, e.g. SLUICE_BENCH_NODE_ARGS='--trace-gc'
  const nodeArgs = (process.env.SLUICE_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  // through the launcher beside the build when it has one (bin/sluice: what `npm start` and the systemd unit
  // run, with its allocator settings); it execs node, so the pid is still the daemon's
  const launcher = join(dirname(SLUICE_BIN), '../../bin/sluice');
  const args = ['-c', dir, '-G', 'bench', '-C', ctl];
  const peer = existsSync(launcher)
    ? startPinned('sluice', core, '/bin/sh', [launcher, ...args], { stdout, env: { ...process.env, SLUICE_NODE: process.execPath, SLUICE_NODE_ARGS: nodeArgs.join(' ') } })
    : startPinned('sluice', core, process.execPath, [...nodeArgs, SLUICE_BIN, ...args], { stdout });
  return started(peer, port, dir);
}

// ---- squid ----

export function squidAvailable() {
  return existsSync('/usr/sbin/squid');
}

export async function startSquid({ core }) {
  const dir = tempDir('squid');
  const port = await freePort();
  // Caching off (`cache deny all`, no cache_dir) and no access log, so squid only proxies, as sluice does
  // with `log: discard`. Persistent connections on both sides are squid's defaults.
  const conf = `
http_port 127.0.0.1:${port}
http_access allow all
cache deny all
cache_mem 8 MB
access_log none
cache_store_log none
cache_log ${dir}/cache.log
pid_filename ${dir}/squid.pid
coredump_dir ${dir}
max_filedescriptors ${NOFILE_MAX}
shutdown_lifetime 0 seconds
forwarded_for delete
via off
workers 1
`;
  writeFileSync(join(dir, 'squid.conf'), conf);
  const peer = startPinned('squid', core, '/usr/sbin/squid', ['-N', '-f', join(dir, 'squid.conf')]);
  return started(peer, port, dir);
}

// ---- dante ----

export function danteAvailable() {
  return existsSync('/usr/sbin/danted');
}

export async function startDante({ core }) {
  const dir = tempDir('dante');
  const port = await freePort();
  const conf = `
logoutput: ${dir}/danted.log
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error
}
socks pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
  log: error
}
`;
  writeFileSync(join(dir, 'danted.conf'), conf);
  const peer = startPinned('dante', core, '/usr/sbin/danted', ['-f', join(dir, 'danted.conf'), '-p', join(dir, 'danted.pid')]);
  return started(peer, port, dir);
}

// ---- microsocks ----

export function microsocksAvailable() {
  return existsSync('/usr/bin/microsocks');
}

export async function startMicrosocks({ core }) {
  const dir = tempDir('microsocks');
  const port = await freePort();
  const peer = startPinned('microsocks', core, '/usr/bin/microsocks', ['-i', '127.0.0.1', '-p', String(port)]);
  return started(peer, port, dir);
}
