/**
 * A small, strict FTP client (RFC 959, RFC 2428 EPSV, RFC 3659 SIZE/MLST) for FTP over HTTP: one control
 * connection, passive data connections (EPSV first, PASV when EPSV is refused), binary type for files and
 * ASCII for listings. Every socket comes from a connector the caller provides, so a proxy opens both the
 * control and the data connections through its escaper and its egress rules apply to each.
 */
import type { Socket } from 'node:net';
import { FtpControl, FtpError, replyError } from './control.js';
import { parseEpsvReply, parsePasvReply, type FtpReply } from './reply.js';
import type { CancelSignal } from '../runtime/cancel.js';

export interface FtpEndpoint {
  host: string;
  port: number;
}

/** Opens a TCP connection (control or data); rejects with the caller's own error type on failure. */
export type FtpConnector = (to: FtpEndpoint, purpose: 'control' | 'data', signal: CancelSignal) => Promise<Socket>;

export interface FtpClientTimeouts {
  connectMs: number;
  greetingMs: number;
  commandMs: number;
  /** how long to wait for the end-of-transfer reply once the data connection is done (and vice versa) */
  transferEndMs: number;
}

export const DEFAULT_FTP_TIMEOUTS: FtpClientTimeouts = { connectMs: 30_000, greetingMs: 10_000, commandMs: 10_000, transferEndMs: 10_000 };

export interface FtpFeatures {
  utf8: boolean;
  size: boolean;
  mlst: boolean;
  epsv: boolean;
}

export interface FtpFacts {
  type: 'file' | 'dir' | 'unknown';
  size: number | null;
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(onTimeout()), ms);
      t.unref();
    }),
  ]);
}

export class FtpClient {
  features: FtpFeatures = { utf8: false, size: false, mlst: false, epsv: false };
  private binary: boolean | null = null;

  private constructor(
    readonly control: FtpControl,
    private readonly server: FtpEndpoint,
    private readonly connector: FtpConnector,
    private readonly timeouts: FtpClientTimeouts,
    private readonly signal: CancelSignal,
  ) {}

  /** Connect, read the greeting, learn the features (FEAT) and switch paths to UTF-8 when offered. */
  static async open(server: FtpEndpoint, connector: FtpConnector, timeouts: FtpClientTimeouts, signal: CancelSignal): Promise<FtpClient> {
    const socket = await withTimeout(connector(server, 'control', signal), timeouts.connectMs,
      () => new FtpError('timeout', `connect to the FTP server timed out after ${timeouts.connectMs}ms`));
    const c = new FtpClient(new FtpControl(socket), server, connector, timeouts, signal);
    try {
      await c.greeting();
      await c.feat();
      if (c.features.utf8) await c.control.command('OPTS', 'UTF8 ON', timeouts.commandMs); // any reply is fine
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private async greeting(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const r = await this.control.read(this.timeouts.greetingMs, 'greeting');
      if (r.code === 120) continue; // "service ready in nnn minutes": the real greeting follows
      if (r.code === 220) return;
      throw replyError('greeting', r);
    }
    throw new FtpError('protocol', 'no 220 greeting');
  }

  private async feat(): Promise<void> {
    const r = await this.control.command('FEAT', undefined, this.timeouts.commandMs);
    if (r.code >= 500 && r.code <= 502) return; // FEAT unknown: assume nothing
    if (r.code !== 211) throw replyError('FEAT', r);
    // feature lines sit between the first and last line, each indented by one space
    for (const line of r.lines.slice(1, -1)) {
      if (!line.startsWith(' ')) continue;
      const name = line.trim().split(' ')[0]!.toUpperCase();
      if (name === 'UTF8') this.features.utf8 = true;
      else if (name === 'SIZE') this.features.size = true;
      else if (name === 'MLST') this.features.mlst = true;
      else if (name === 'EPSV') this.features.epsv = true;
    }
  }

  /** USER then PASS when asked for one; anonymous when no user is given. */
  async login(user: string | undefined, pass: string | undefined): Promise<void> {
    let r = await this.control.command('USER', user ?? 'anonymous', this.timeouts.commandMs);
    if (r.code === 230) return;
    if (r.code !== 331) throw replyError('USER', r);
    r = await this.control.command('PASS', pass ?? 'xxx', this.timeouts.commandMs);
    if (r.code === 230 || r.code === 202) return;
    if (r.code === 332) throw new FtpError('not-logged-in', 'the FTP server needs an account (ACCT)', 332);
    throw replyError('PASS', r);
  }

  private async setType(binary: boolean): Promise<void> {
    if (this.binary === binary) return;
    const r = await this.control.command('TYPE', binary ? 'I' : 'A', this.timeouts.commandMs);
    if (r.code !== 200) throw replyError('TYPE', r);
    this.binary = binary;
  }

  /** SIZE of a file; null when the server does not know it (550, a directory, SIZE unsupported). */
  async size(path: string): Promise<number | null> {
    if (path === '') return null;
    const r = await this.control.command('SIZE', path, this.timeouts.commandMs);
    if (r.code === 213) {
      const t = (r.lines[0] ?? '').trim();
      if (!/^\d{1,15}$/.test(t)) throw new FtpError('protocol', `bad SIZE reply '${t.slice(0, 32)}'`);
      return Number(t);
    }
    if (r.code === 550 || r.code === 500 || r.code === 501 || r.code === 502) return null;
    throw replyError('SIZE', r);
  }

  /** What `path` is: MLST when offered, else SIZE (binary type, as SIZE is defined for it). */
  async facts(path: string): Promise<FtpFacts> {
    const f: FtpFacts = { type: 'unknown', size: null };
    if (this.features.mlst) {
      const r = await this.control.command('MLST', path, this.timeouts.commandMs);
      if (r.code === 550) throw replyError('MLST', r);
      if (r.code === 250 && r.lines.length === 3) {
        const facts = r.lines[1]!.trimStart().split(' ')[0]!;
        for (const kv of facts.split(';')) {
          const eq = kv.indexOf('=');
          if (eq <= 0) continue;
          const k = kv.slice(0, eq).toLowerCase();
          const v = kv.slice(eq + 1);
          if (k === 'type') f.type = v.toLowerCase() === 'file' ? 'file' : /dir$/i.test(v) ? 'dir' : 'unknown';
          else if (k === 'size' && /^\d{1,15}$/.test(v)) f.size = Number(v);
        }
      } else if (r.code !== 500 && r.code !== 501 && r.code !== 502) throw replyError('MLST', r);
    }
    if (f.size === null && f.type !== 'dir' && this.features.size) {
      await this.setType(true);
      f.size = await this.size(path);
    }
    return f;
  }

  /** A passive data connection: EPSV (to the control connection's host), else PASV (to the address it names). */
  private async passive(): Promise<Socket> {
    let to: FtpEndpoint | null = null;
    const e = await this.control.command('EPSV', undefined, this.timeouts.commandMs);
    if (e.code === 229) {
      const port = parseEpsvReply(e);
      if (port === null) throw new FtpError('protocol', `bad EPSV reply '${(e.lines[0] ?? '').slice(0, 64)}'`);
      to = { host: this.server.host, port };
    } else if (e.code === 421 || e.code === 530) throw replyError('EPSV', e);
    if (!to) {
      const p = await this.control.command('PASV', undefined, this.timeouts.commandMs);
      if (p.code !== 227) throw replyError('PASV', p);
      const a = parsePasvReply(p);
      if (!a) throw new FtpError('protocol', `bad PASV reply '${(p.lines[0] ?? '').slice(0, 64)}'`);
      to = a;
    }
    try {
      return await withTimeout(this.connector(to, 'data', this.signal), this.timeouts.connectMs,
        () => new FtpError('data-connect', 'data connection timed out'));
    } catch (err) {
      if (err instanceof FtpError) throw err;
      throw new FtpError('data-connect', `data connection to ${to.host}:${to.port} failed: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  /** Open the data connection, send the transfer command, expect 125/150. The data socket is paused. */
  private async startTransfer(cmd: 'LIST' | 'RETR' | 'STOR', path: string): Promise<Socket> {
    const data = await this.passive();
    data.pause();
    let r: FtpReply;
    try {
      r = await this.control.command(cmd, path === '' ? undefined : path, this.timeouts.commandMs);
    } catch (e) {
      data.destroy();
      throw e;
    }
    if (r.code !== 125 && r.code !== 150) {
      data.destroy();
      throw replyError(cmd, r);
    }
    return data;
  }

  async startList(path: string): Promise<Socket> {
    await this.setType(false);
    return this.startTransfer('LIST', path);
  }

  /** RETR in binary type; `size` from SIZE (null when unknown). */
  async startRetrieve(path: string): Promise<{ data: Socket; size: number | null }> {
    await this.setType(true);
    const size = this.features.size ? await this.size(path) : null;
    const data = await this.startTransfer('RETR', path);
    return { data, size };
  }

  async startStore(path: string): Promise<Socket> {
    await this.setType(true);
    return this.startTransfer('STOR', path);
  }

  /** The end-of-transfer reply: 226/250 is success, anything else an error. `timeoutMs` 0 waits without limit. */
  async transferEnd(what: string, timeoutMs = this.timeouts.transferEndMs): Promise<void> {
    const r = await this.control.read(timeoutMs, `end of ${what}`);
    if (r.code === 226 || r.code === 250) return;
    throw replyError(`end of ${what}`, r);
  }

  async deleteFile(path: string): Promise<void> {
    const r = await this.control.command('DELE', path, this.timeouts.commandMs);
    if (r.code !== 250) throw replyError('DELE', r);
  }

  async removeDir(path: string): Promise<void> {
    const r = await this.control.command('RMD', path, this.timeouts.commandMs);
    if (r.code !== 250) throw replyError('RMD', r);
  }

  /** Polite end: QUIT, then close once the server answers (or after a second). */
  quit(): void {
    try {
      this.control.send('QUIT');
    } catch {
      this.close();
      return;
    }
    this.control.read(1000, 'reply to QUIT').catch(() => undefined).finally(() => this.close());
  }

  close(): void {
    this.control.destroy();
  }
}
