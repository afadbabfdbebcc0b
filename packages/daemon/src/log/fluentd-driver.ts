/**
 * The `fluentd` log driver: fluentd's Forward protocol over TCP or TLS. Each record is one Message mode entry
 * `[tag, EventTime, {fields..., msg}]` with tag `g3proxy.<log_type>` (lib/g3-fluentd).
 *
 * With a `shared_key` the connection starts with the handshake: the server's HELO (nonce, auth salt), our PING
 * (hostname, a random salt, sha512(salt|hostname|nonce|shared_key) in hex, and username plus
 * sha512(auth_salt|username|password) when the server asked for user auth), the server's PONG, whose digest
 * sha512(salt|server_hostname|nonce|shared_key) is verified. g3 skips the handshake over TLS; sluice does it
 * on both, as fluentd's `<security>` section expects it whatever the transport.
 *
 * Delivery follows g3: records queue in a bounded channel; while there is no connection they move to a retry
 * queue of `retry_queue_len` (the oldest dropped beyond it); a failed connect waits `connect_delay` before the
 * next; anything the server sends after the handshake closes the connection; a write still not flushed after
 * `write_timeout` drops the connection (its unflushed records are lost, as with g3's dropped write).
 * A winston transport (transport.ts); task records skip winston's streams and come in through `record()`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { decodeMsgpack, MsgpackWriter, type MsgpackValue } from './msgpack.js';
import { countDrop, type LogRecord, type LoggerStats } from './record.js';
import { DriverTransport } from './transport.js';

export interface FluentdOptions {
  host: string;
  port: number;
  bindIp?: string;
  sharedKey: string;
  username: string;
  password: string;
  hostname: string;
  tcpKeepalive: { enabled: boolean; idleTimeMs: number };
  tls: { options: ConnectionOptions; handshakeTimeoutMs: number } | null;
  tlsName?: string;
  connectTimeoutMs: number;
  connectDelayMs: number;
  writeTimeoutMs: number;
  flushIntervalMs: number;
  retryQueueLen: number;
  channelSize: number;
  /** tag prefix: the program name, `g3proxy` */
  tagPrefix: string;
}

const sha512hex = (...parts: Array<Buffer | string>): string => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export function encodeForwardEntry(w: MsgpackWriter, tag: string, r: LogRecord): Buffer {
  w.reset();
  w.arrayHeader(3).str(tag).eventTime(r.ts).mapHeader(r.fields.length + 1);
  for (const [k, v] of r.fields) w.str(k).value(v);
  w.str('msg').str(r.msg);
  return w.take();
}

function asBuf(v: MsgpackValue | undefined): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.alloc(0);
}

type State = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export class FluentdDriver extends DriverTransport {
  readonly name = 'fluentd';
  private channel: Buffer[] = [];
  private retry: Buffer[] = [];
  private state: State = 'idle';
  private sock: Socket | null = null;
  private writeTimer: NodeJS.Timeout | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private readonly writer = new MsgpackWriter();

  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stats: LoggerStats,
    private readonly o: FluentdOptions,
    /** told of connect failures and lost connections (sampled into the process log by the logger) */
    private readonly ioError: (e: Error) => void = () => {},
  ) {
    super();
  }

  record(r: LogRecord): void {
    this.stats.total++;
    if (this.state === 'closed') return void countDrop(this.stats, 'ChannelClosed');
    if (this.channel.length >= this.o.channelSize) return void countDrop(this.stats, 'ChannelOverflow');
    let entry: Buffer;
    try {
      entry = encodeForwardEntry(this.writer, `${this.o.tagPrefix}.${r.logType}`, r);
    } catch {
      return void countDrop(this.stats, 'FormatFailed');
    }
    this.channel.push(entry);
    if (this.state === 'connected') {
      // flush_interval: entries gathered while connected go out together, one write per interval
      if (!this.flushTimer) this.flushTimer = setTimeout(this.flushNow, this.o.flushIntervalMs);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  private readonly flushNow = (): void => {
    this.flushTimer = undefined;
    this.flush();
  };

  private readonly pump = (): void => {
    this.scheduled = false;
    if (this.state === 'idle') this.connect();
    else if (this.state === 'waiting') this.moveToRetry();
    else if (this.state === 'connected') this.flush();
  };

  private moveToRetry(): void {
    for (const e of this.channel) {
      this.retry.push(e);
      if (this.retry.length > this.o.retryQueueLen) {
        this.retry.shift();
        countDrop(this.stats, 'PeerUnreachable');
      }
    }
    this.channel = [];
  }

  private connect(): void {
    this.state = 'connecting';
    const base = { host: this.o.host, port: this.o.port, localAddress: this.o.bindIp };
    const sock: Socket = this.o.tls
      ? tlsConnect({ ...base, ...this.o.tls.options, servername: this.o.tlsName ?? (/^[\d.:]+$/.test(this.o.host) ? undefined : this.o.host) })
      : tcpConnect(base);
    this.sock = sock;
    const timer = setTimeout(() => fail(new Error('connect timed out')), this.o.connectTimeoutMs + (this.o.tls?.handshakeTimeoutMs ?? 0));
    let done = false;
    const fail = (e: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      this.ioError(new Error(`fluentd ${this.o.host}:${this.o.port}: ${e.message}`));
      this.afterConnectFailure();
    };
    const onClose = () => fail(new Error('closed during connect'));
    sock.once('error', fail);
    sock.once('close', onClose);
    sock.once(this.o.tls ? 'secureConnect' : 'connect', () => {
      if (this.o.tcpKeepalive.enabled) sock.setKeepAlive(true, this.o.tcpKeepalive.idleTimeMs);
      sock.setNoDelay(true);
      this.handshake(sock).then(
        () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          sock.off('error', fail);
          sock.off('close', onClose);
          this.onConnected(sock);
        },
        (e: Error) => fail(e),
      );
    });
  }

  private afterConnectFailure(): void {
    if (this.state === 'closed') return;
    this.sock = null;
    this.state = 'waiting';
    this.moveToRetry();
    this.delayTimer = setTimeout(() => {
      if (this.state !== 'waiting') return;
      this.state = 'idle';
      if (this.channel.length || this.retry.length) this.connect();
    }, this.o.connectDelayMs);
    this.delayTimer.unref();
  }

  /** Read whole msgpack messages off the socket until `n` are decoded. */
  private readMessage(sock: Socket): Promise<MsgpackValue> {
    return new Promise((resolve, reject) => {
      let acc: Buffer = Buffer.alloc(0);
      const onData = (d: Buffer) => {
        acc = acc.length ? Buffer.concat([acc, d]) : d;
        try {
          const [v] = decodeMsgpack(acc);
          cleanup();
          resolve(v);
        } catch (e) {
          if (!(e instanceof RangeError) || acc.length > 65536 || !/truncated/.test(e.message)) {
            cleanup();
            reject(e as Error);
          }
        }
      };
      const onEnd = () => {
        cleanup();
        reject(new Error('closed during handshake'));
      };
      const cleanup = () => {
        sock.off('data', onData);
        sock.off('end', onEnd);
      };
      sock.on('data', onData);
      sock.on('end', onEnd);
    });
  }

  private async handshake(sock: Socket): Promise<void> {
    if (!this.o.sharedKey) return;
    const helo = await this.readMessage(sock);
    if (!Array.isArray(helo) || helo[0] !== 'HELO' || typeof helo[1] !== 'object' || helo[1] === null) throw new Error('bad HELO');
    const opts = helo[1] as Record<string, MsgpackValue>;
    const nonce = asBuf(opts.nonce);
    const authSalt = asBuf(opts.auth);
    const salt = randomBytes(16);
    const w = new MsgpackWriter();
    w.arrayHeader(6).str('PING').str(this.o.hostname).bin(salt);
    w.str(sha512hex(salt, this.o.hostname, nonce, this.o.sharedKey));
    if (authSalt.length === 0) w.str('').str('');
    else w.str(this.o.username).str(sha512hex(authSalt, this.o.username, this.o.password));
    sock.write(w.take());
    const pong = await this.readMessage(sock);
    if (!Array.isArray(pong) || pong[0] !== 'PONG' || pong.length < 5) throw new Error('bad PONG');
    if (pong[1] !== true) throw new Error(`fluentd refused auth: ${String(pong[2])}`);
    const expect = sha512hex(salt, String(pong[3]), nonce, this.o.sharedKey);
    if (pong[4] !== expect) throw new Error('fluentd shared_key digest mismatch');
  }

  private onConnected(sock: Socket): void {
    if (this.state === 'closed') {
      sock.destroy();
      return;
    }
    this.state = 'connected';
    // After the handshake the server has nothing to say: any data, or the end, means drop and reconnect.
    const lost = () => this.onLost(sock);
    sock.on('data', lost);
    sock.on('error', lost);
    sock.on('close', lost);
    sock.on('drain', () => {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
      this.flush();
    });
    if (this.retry.length) {
      this.channel = this.retry.concat(this.channel);
      this.retry = [];
    }
    this.flush();
  }

  private onLost(sock: Socket): void {
    if (this.sock !== sock) return;
    this.ioError(new Error(`fluentd ${this.o.host}:${this.o.port}: connection lost`));
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    sock.destroy();
    this.sock = null;
    if (this.state === 'closed') return;
    this.state = 'idle';
    if (this.channel.length) this.connect();
  }

  /** Write every queued entry as one chunk (with backpressure: a write still pending holds the next). */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const sock = this.sock;
    if (!sock || this.state !== 'connected' || this.writeTimer || this.channel.length === 0) return;
    const batch = this.channel.length === 1 ? this.channel[0]! : Buffer.concat(this.channel);
    this.stats.pass += this.channel.length;
    this.stats.passBytes += batch.length;
    this.channel = [];
    if (!sock.write(batch)) this.writeTimer = setTimeout(() => this.onLost(sock), this.o.writeTimeoutMs);
  }

  override async close(): Promise<void> {
    const sock = this.sock;
    if (this.state === 'connected' && sock) this.flush();
    this.state = 'closed';
    clearTimeout(this.flushTimer);
    clearTimeout(this.delayTimer);
    clearTimeout(this.writeTimer);
    const unsent = this.channel.length + this.retry.length;
    if (unsent) countDrop(this.stats, 'ChannelClosed', unsent);
    if (sock && !sock.destroyed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          sock.destroy();
          resolve();
        }, 1000);
        t.unref();
        sock.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.channel = [];
    this.retry = [];
  }
}
