/**
 * Where hot-shots' batches go (its `stream` protocol): a Writable that keeps up to `cache_size` bytes of metric
 * lines and sends them as datagrams of at most `max_segment_size`, over UDP (from `bind_ip` when the config
 * names one) or a Unix datagram socket — g3's StatsD client's cache and segments. hot-shots formats the lines
 * (prefix, tags) and cuts them at max_segment_size; the emitter calls `flush()` at the end of each round, and
 * the cache is sent early whenever the next batch would not fit in it.
 *
 * A send is a non-blocking sendto(2) on the event loop; a failed one is counted and reported (the emitter's
 * error handler warns once in the process log), never retried.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { Writable } from 'node:stream';
import { unixDgram, type UnixDgramSocket } from '../log/unix-dgram.js';
import type { StatTarget } from './stat-config.js';

export interface StatsdSinkCounters {
  /** datagrams handed to the kernel */
  sent: number;
  /** datagrams the socket reported as failed */
  failed: number;
}

export class StatsdSink extends Writable {
  readonly counters: StatsdSinkCounters = { sent: 0, failed: 0 };
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** bytes given to the socket whose send has not completed */
  private inFlight = 0;
  private udp: UdpSocket | null = null;
  private unix: UnixDgramSocket | null = null;

  constructor(
    private readonly target: StatTarget,
    private readonly cacheSize: number,
    private readonly onError: (e: Error) => void = () => {},
  ) {
    super({ decodeStrings: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.pendingBytes + chunk.length > this.cacheSize) this.flush();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    cb();
  }

  /** Send what the cache holds (one datagram per hot-shots batch, each within max_segment_size). */
  flush(): void {
    if (this.pending.length === 0) return;
    const segs = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const seg of segs) this.send(seg);
  }

  private send(seg: Buffer): void {
    const done = (err?: Error | null): void => {
      this.inFlight -= seg.length;
      if (err) {
        this.counters.failed++;
        this.onError(err);
      }
    };
    this.inFlight += seg.length;
    this.counters.sent++;
    try {
      const t = this.target;
      if (t.kind === 'udp') this.udpSocket(t).send(seg, t.port, t.host, done);
      else this.unixSocket().send(seg, 0, seg.length, t.path, done);
    } catch (e) {
      done(e as Error);
    }
  }

  private udpSocket(t: Extract<StatTarget, { kind: 'udp' }>): UdpSocket {
    if (!this.udp) {
      const s = createSocket(isIP(t.host) === 6 ? 'udp6' : 'udp4');
      s.on('error', (e) => this.onError(e));
      s.unref();
      // g3's bind_ip: the source address of the metrics (a sendto before the bind completes waits for it)
      if (t.bindIp) s.bind({ address: t.bindIp, port: 0 });
      this.udp = s;
    }
    return this.udp;
  }

  private unixSocket(): UnixDgramSocket {
    if (!this.unix) {
      const s = unixDgram().createSocket('unix_dgram');
      s.on('error', (e) => this.onError(e as Error));
      this.unix = s;
    }
    return this.unix;
  }

  /** Bytes sitting in the cache (not handed to the socket yet). */
  get cached(): number {
    return this.pendingBytes;
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.flush();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.flush();
    // closing a UDP socket drops sends still queued in it: give the last datagrams a moment
    const close = (): void => {
      try {
        this.udp?.close();
        this.unix?.close();
      } catch {
        /* already closed */
      }
      this.udp = this.unix = null;
      cb(err);
    };
    if (this.inFlight === 0) close();
    else setTimeout(close, 50).unref();
  }
}
