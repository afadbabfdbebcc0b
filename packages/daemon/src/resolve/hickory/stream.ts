/**
 * DNS over a byte stream (TCP, RFC 1035 §4.2.2; TLS, RFC 7858): each message is preceded by its 16-bit length.
 * Several queries may be outstanding on one connection; answers are matched by id, in any order (RFC 7766 §6.2.1).
 */
import type { Socket } from 'node:net';
import { DnsFormatError, parseMessage, peekHeader, responseMismatch, type DnsMessage } from '@sluice/protocol';
import { ExchangeError } from './exchange-error.js';

interface Pending {
  name: string;
  type: number;
  resolve(m: DnsMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class StreamSession {
  private readonly pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closed = false;

  /** `idleMs`: the connection is closed after this long without an outstanding query */
  constructor(private readonly sock: Socket, private readonly what: string, idleMs: number) {
    sock.setNoDelay(true);
    sock.setTimeout(idleMs, () => {
      if (this.pending.size === 0) this.close(new ExchangeError('closed', `${what}: idle`));
    });
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e) => this.close(new ExchangeError('connect', `${what}: ${e.message}`, { cause: e })));
    sock.on('close', () => this.close(new ExchangeError('closed', `${what}: connection closed by the server`)));
    // a session left open for reuse must not keep the process alive
    sock.unref();
  }

  get usable(): boolean {
    return !this.closed;
  }

  /** An id no outstanding query on this connection has. */
  freeId(): number {
    for (;;) {
      const id = Math.floor(Math.random() * 0x10000);
      if (!this.pending.has(id)) return id;
    }
  }

  request(query: Buffer, id: number, name: string, type: number, timeoutMs: number): Promise<DnsMessage> {
    if (this.closed) return Promise.reject(new ExchangeError('closed', `${this.what}: connection closed`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ExchangeError('timeout', `no answer from ${this.what} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.pending.set(id, { name, type, resolve, reject, timer });
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(query.length);
      this.sock.write(Buffer.concat([len, query]));
    });
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.buffered < 2) return;
      if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      const head = this.chunks[0]!;
      const len = head.readUInt16BE(0);
      if (this.buffered < 2 + len) return;
      const frame = head.subarray(2, 2 + len);
      const rest = head.subarray(2 + len);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onFrame(frame);
      if (this.closed) return;
    }
  }

  private onFrame(frame: Buffer): void {
    const h = peekHeader(frame);
    const p = h ? this.pending.get(h.id) : undefined;
    // an answer to nothing we asked (a timed-out query): dropped
    if (!h || !p) return;
    let msg: DnsMessage;
    try {
      msg = parseMessage(frame);
    } catch (e) {
      return this.settle(h.id, p, new ExchangeError('malformed', `malformed answer from ${this.what}: ${(e as DnsFormatError).message}`, { cause: e }));
    }
    const why = responseMismatch(msg, h.id, p.name, p.type);
    if (why !== null) return this.settle(h.id, p, new ExchangeError('malformed', `answer from ${this.what} does not match the query: ${why}`));
    this.settle(h.id, p, null, msg);
  }

  private settle(id: number, p: Pending, err: Error | null, msg?: DnsMessage): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(msg!);
  }

  /** Fails whatever is outstanding with `why` and closes the connection. Idempotent. */
  close(why: ExchangeError = new ExchangeError('closed', 'resolver closed')): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) this.settle(id, p, why);
    this.sock.destroy();
  }
}
