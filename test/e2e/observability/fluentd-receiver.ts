/**
 * A fluentd Forward-protocol receiver for tests: optional shared-key handshake (HELO → PING → PONG, with user
 * auth when `users` is set), plain TCP or TLS, and the Message-mode entries decoded with @msgpack/msgpack.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { decodeMultiStream, encode, ExtData } from '@msgpack/msgpack';

export interface ForwardEntry {
  tag: string;
  /** EventTime: seconds and nanoseconds */
  sec: number;
  nsec: number;
  record: Record<string, unknown>;
}

export interface ReceiverOptions {
  sharedKey?: string;
  users?: Record<string, string>;
  tls?: { key: string; cert: string };
  hostname?: string;
}

const hex512 = (...parts: Array<Uint8Array | string>) => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export class ForwardReceiver {
  readonly entries: ForwardEntry[] = [];
  readonly pings: unknown[][] = [];
  readonly errors: string[] = [];
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly o: ReceiverOptions = {}) {}

  async listen(port = 0): Promise<this> {
    const onConn = (s: Socket) => this.onConnection(s);
    this.server = this.o.tls ? createTlsServer({ key: this.o.tls.key, cert: this.o.tls.cert }, onConn) : createServer(onConn);
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private onConnection(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
    const nonce = randomBytes(16);
    const authSalt = this.o.users ? randomBytes(16) : new Uint8Array(0);
    let authed = !this.o.sharedKey;
    if (!authed) s.write(encode(['HELO', { nonce, auth: authSalt, keepalive: true }]));
    // the library buffers partial values across reads
    void (async () => {
      try {
        for await (const value of decodeMultiStream(s)) {
          if (!authed) {
            authed = this.checkPing(s, value as unknown[], nonce, authSalt);
            if (!authed) return;
          } else this.takeEntry(value);
        }
      } catch (e) {
        this.errors.push(String(e));
        s.destroy();
      }
    })();
  }

  private checkPing(s: Socket, ping: unknown[], nonce: Uint8Array, authSalt: Uint8Array): boolean {
    this.pings.push(ping);
    const [type, clientHost, salt, digest, user, pass] = ping as [string, string, Uint8Array, string, string, string];
    const key = this.o.sharedKey!;
    let ok = type === 'PING' && digest === hex512(salt, clientHost, nonce, key);
    let reason = ok ? '' : 'shared_key mismatch';
    if (ok && this.o.users) {
      const pw = this.o.users[user];
      ok = pw !== undefined && pass === hex512(authSalt, user, pw);
      if (!ok) reason = 'username/password mismatch';
    }
    const host = this.o.hostname ?? 'receiver';
    s.write(encode(['PONG', ok, reason, host, ok ? hex512(salt, host, nonce, key) : '']));
    if (!ok) {
      this.errors.push(reason);
      s.end();
    }
    return ok;
  }

  private takeEntry(v: unknown): void {
    const [tag, time, record] = v as [string, ExtData, Record<string, unknown>];
    const data = time instanceof ExtData && typeof time.data !== 'function' ? time.data : undefined;
    if (!data || time.type !== 0 || data.length !== 8) {
      this.errors.push(`not an EventTime: ${String(time)}`);
      return;
    }
    const dv = new DataView(data.buffer, data.byteOffset, 8);
    this.entries.push({ tag, sec: dv.getUint32(0), nsec: dv.getUint32(4), record });
  }

  async waitFor(n: number, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.entries.length < n) {
      if (Date.now() > deadline) throw new Error(`fluentd receiver: ${this.entries.length}/${n} entries; errors: ${this.errors.join('; ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
