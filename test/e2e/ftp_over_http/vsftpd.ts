/** A throwaway vsftpd on 127.0.0.1: anonymous login (writable `pub/`), passive ports in a small range. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Vsftpd {
  port: number;
  root: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function waitListening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`vsftpd did not listen on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startVsftpd(): Promise<Vsftpd> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-vsftpd-'));
  const root = join(dir, 'root');
  const empty = join(dir, 'empty');
  mkdirSync(join(root, 'pub'), { recursive: true, mode: 0o755 });
  mkdirSync(empty, { mode: 0o755 });
  // vsftpd refuses a writable anonymous root; uploads go to pub/, owned by the ftp user
  const ftpUid = Number(execFileSync('id', ['-u', 'ftp'], { encoding: 'utf8' }).trim());
  chownSync(join(root, 'pub'), ftpUid, 0);
  const port = await freePort();
  // Passive ports below the kernel's ephemeral range (32768+): there they can't clash with the local port of
  // some outgoing connection on this busy machine, which makes vsftpd's listen() fail ("500 OOPS").
  const pasv = 20_000 + Math.floor(Math.random() * 12_000);
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(conf, [
    'listen=YES', 'listen_ipv6=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'background=NO',
    'anonymous_enable=YES', 'local_enable=NO', 'write_enable=YES', 'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES', 'anon_other_write_enable=YES', 'anon_umask=022', `anon_root=${root}`,
    'pasv_enable=YES', `pasv_min_port=${pasv}`, `pasv_max_port=${pasv + 20}`, 'pasv_address=127.0.0.1',
    `secure_chroot_dir=${empty}`, 'seccomp_sandbox=NO', 'xferlog_enable=NO', 'dirmessage_enable=NO',
    'connect_from_port_20=NO', 'idle_session_timeout=30', 'data_connection_timeout=30', '',
  ].join('\n'));
  const proc: ChildProcess = spawn('/usr/sbin/vsftpd', [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitListening(port, 10_000);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${(e as Error).message}: ${stderr}`);
  }
  return {
    port,
    root,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
