/**
 * Real upstream proxies for the escaper tests, each on 127.0.0.1 with its own temp config, logs and pid file:
 * squid (HTTP, basic auth through basic_ncsa_auth + an htpasswd file), dante (SOCKS5, with or without
 * username auth against a system user), plus an origin that answers with the address it saw the request from.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitListening(port: number, proc: ChildProcess, what: string, logs: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}):\n${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${what} did not listen on ${port} in time:\n${logs()}`);
    }
    await sleep(100);
  }
}

export interface Peer {
  port: number;
  dir: string;
  /** the peer's own access log */
  log(): string;
  stop(): Promise<void>;
}

function stopper(proc: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      const deadline = Date.now() + 5000;
      while (proc.exitCode === null && Date.now() < deadline) await sleep(50);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** squid -N with basic auth (`user`/`pass`); access log records the authenticated user per request. */
export async function startSquid(user: string, pass: string): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-squid-'));
  chmodSync(dir, 0o777); // squid drops to the `proxy` user and must write its logs here
  execFileSync('htpasswd', ['-bc', join(dir, 'passwd'), user, pass], { stdio: 'ignore' });
  chmodSync(join(dir, 'passwd'), 0o644);
  const port = await freePort();
  writeFileSync(join(dir, 'squid.conf'), [
    `http_port 127.0.0.1:${port}`,
    `pid_filename ${dir}/squid.pid`,
    'cache deny all',
    'cache_dir null /tmp',
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log`,
    `coredump_dir ${dir}`,
    'netdb_filename none',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'logfile_rotate 0',
    'buffered_logs off',
    `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${dir}/passwd`,
    'auth_param basic realm sluice-test',
    'acl authed proxy_auth REQUIRED',
    'http_access allow authed',
    'http_access deny all',
    '',
  ].join('\n'));
  const proc = spawn('squid', ['-N', '-f', join(dir, 'squid.conf')], { stdio: 'ignore' });
  const cacheLog = () => (existsSync(join(dir, 'cache.log')) ? readFileSync(join(dir, 'cache.log'), 'utf8') : '');
  await waitListening(port, proc, 'squid', cacheLog, 15_000);
  return {
    port, dir,
    log: () => (existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : ''),
    stop: stopper(proc, dir),
  };
}

/** Make sure a system user exists with this password (dante's `username` method checks the system database). */
export function ensureSystemUser(user: string, pass: string): void {
  try {
    execFileSync('id', [user], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-M', '-s', '/usr/sbin/nologin', user], { stdio: 'ignore' });
  }
  execFileSync('chpasswd', { input: `${user}:${pass}\n`, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** danted in the foreground; `auth` switches the SOCKS method to username (RFC 1929). */
export async function startDante(auth: boolean): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dante-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  writeFileSync(join(dir, 'danted.conf'), [
    `logoutput: ${dir}/danted.log`,
    `internal: 127.0.0.1 port = ${port}`,
    'external: 127.0.0.1',
    `socksmethod: ${auth ? 'username' : 'none'}`,
    'clientmethod: none',
    'user.privileged: root',
    'user.unprivileged: nobody',
    'client pass {',
    '  from: 127.0.0.0/8 to: 0.0.0.0/0',
    '  log: connect disconnect error',
    '}',
    'socks pass {',
    '  from: 127.0.0.0/8 to: 0.0.0.0/0',
    '  command: connect udpassociate udpreply',
    '  log: connect disconnect error',
    '}',
    '',
  ].join('\n'));
  const proc = spawn('danted', ['-f', join(dir, 'danted.conf'), '-p', join(dir, 'danted.pid'), '-N', '1'], { stdio: 'ignore' });
  const log = () => (existsSync(join(dir, 'danted.log')) ? readFileSync(join(dir, 'danted.log'), 'utf8') : '');
  await waitListening(port, proc, 'danted', log);
  return { port, dir, log, stop: stopper(proc, dir) };
}

/** An HTTP origin answering `from <remote address>`; `host` picks its loopback address. */
export async function startAddrOrigin(host = '127.0.0.1'): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createHttpServer((req, res) => {
    res.setHeader('connection', 'close');
    res.end(`from ${req.socket.remoteAddress}`);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as AddressInfo).port;
  return {
    port, url: `http://${host}:${port}`,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
