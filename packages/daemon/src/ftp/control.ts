/**
 * The FTP control connection: writes commands, reads replies through the strict parser, one outstanding
 * read at a time, each bounded by a timeout. Byte counters feed the task log (`ftp_c_rd_bytes`, ...).
 */
import type { Socket } from 'node:net';
import { FtpProtocolError, FtpReplyParser, type FtpReply } from './reply.js';

export type FtpErrorKind =
  | 'closed' // control connection gone
  | 'timeout' // no reply in time
  | 'protocol' // malformed reply or impossible sequence
  | 'unavailable' // 421: service not available
  | 'not-logged-in' // 530
  | 'file-unavailable' // 550 / 450
  | 'not-implemented' // 500 / 501 / 502 / 504 / 522
  | 'unexpected' // any other code where it is not expected
  | 'data-connect'; // the passive data connection could not be made

export class FtpError extends Error {
  constructor(readonly kind: FtpErrorKind, message: string, readonly replyCode?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'FtpError';
  }
}

/** The error for a reply code a command did not expect, classified the way callers branch on it. */
export function replyError(what: string, r: FtpReply): FtpError {
  const c = r.code;
  const text = `${what}: ${c} ${r.lines[0] ?? ''}`.trimEnd();
  if (c === 421) return new FtpError('unavailable', text, c);
  if (c === 530) return new FtpError('not-logged-in', text, c);
  if (c === 550 || c === 450) return new FtpError('file-unavailable', text, c);
  if (c === 500 || c === 501 || c === 502 || c === 504 || c === 522) return new FtpError('not-implemented', text, c);
  return new FtpError('unexpected', text, c);
}

interface Waiter {
  resolve(r: FtpReply): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class FtpControl {
  rdBytes = 0;
  wrBytes = 0;
  private readonly parser = new FtpReplyParser();
  private readonly ready: FtpReply[] = [];
  private waiter: Waiter | null = null;
  private failure: FtpError | null = null;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', () => this.fail(new FtpError('closed', 'control connection closed by the server')));
    socket.on('close', () => this.fail(new FtpError('closed', 'control connection closed')));
    socket.on('error', (e) => this.fail(new FtpError('closed', `control connection failed: ${e.message}`, undefined, { cause: e })));
  }

  /** A reply arrived that nobody has read yet (e.g. a transfer ended early). */
  get hasUnread(): boolean {
    return this.ready.length > 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.rdBytes += chunk.length;
    let replies: FtpReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      this.fail(new FtpError('protocol', (e as FtpProtocolError).message));
      this.socket.destroy();
      return;
    }
    for (const r of replies) {
      const w = this.waiter;
      if (w) {
        this.waiter = null;
        clearTimeout(w.timer);
        w.resolve(r);
      } else if (this.ready.length < 8) this.ready.push(r);
      else {
        // a server flooding unsolicited replies is broken
        this.fail(new FtpError('protocol', 'too many unsolicited replies'));
        this.socket.destroy();
        return;
      }
    }
  };

  private fail(e: FtpError): void {
    this.failure ??= e;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
  }

  /** Write one command line. Arguments never carry CR or LF: that would inject a second command. */
  send(cmd: string, arg?: string): void {
    if (arg !== undefined && /[\r\n\0]/.test(arg)) throw new FtpError('protocol', `${cmd} argument contains a line break`);
    if (this.failure) throw this.failure;
    const line = Buffer.from(arg === undefined ? `${cmd}\r\n` : `${cmd} ${arg}\r\n`, 'utf8');
    this.wrBytes += line.length;
    this.socket.write(line);
  }

  /** The next reply, or a rejection after `timeoutMs` (0: no limit; the caller bounds the wait otherwise). */
  read(timeoutMs: number, what = 'reply'): Promise<FtpReply> {
    const r = this.ready.shift();
    if (r) return Promise.resolve(r);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new FtpError('protocol', 'concurrent reply reads'));
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.waiter = null;
          reject(new FtpError('timeout', `no ${what} from the FTP server within ${timeoutMs}ms`));
        }, timeoutMs);
        timer.unref();
      }
      this.waiter = { resolve, reject, timer };
    });
  }

  /** Send a command and read its (first) reply. */
  async command(cmd: string, arg: string | undefined, timeoutMs: number): Promise<FtpReply> {
    this.send(cmd, arg);
    return this.read(timeoutMs, `reply to ${cmd}`);
  }

  destroy(): void {
    this.fail(new FtpError('closed', 'control connection closed'));
    this.socket.destroy();
  }
}
