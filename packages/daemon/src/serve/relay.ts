/**
 * Bidirectional byte relay between a client and an upstream socket, with backpressure each way, half-close
 * propagation, per-task byte counters and an idle check driven by the owning server's single interval timer
 * (one timer per server, not per tunnel, so thousands of idle tunnels cost no timers).
 */
import type { Socket } from 'node:net';
import type { TaskReason, TcpSpeedLimit } from '@sluice/common';
import { sliceBudgets } from '../limit/slice-budget.js';
import { isThrottled, ReadThrottle } from '../limit/socket-throttle.js';
import { readIntoOwnBuffer, replaceOwnBuffer } from './own-read-buffer.js';
import type { ServerStats } from '../stat/server-stats.js';
import type { TaskContext } from '../task/task.js';

/** How long a half-closed tunnel may take to flush its other side once one side has closed. */
const LINGER_MS = 5000;

export type RelayEnd = 'client' | 'upstream' | 'client-error' | 'upstream-error' | 'idle' | 'quit';

/** The task log `reason` of each way a relay ends. */
export const RELAY_END_REASON: Readonly<Record<RelayEnd, TaskReason>> = {
  client: 'ClosedByClient',
  upstream: 'ClosedByUpstream',
  'client-error': 'ClientTcpReadFailed',
  'upstream-error': 'UpstreamReadFailed',
  idle: 'Idle',
  quit: 'CanceledAsServerQuit',
};

/**
 * end() a socket that may already be ended or destroyed. Calling end() on those makes Node build an error
 * (with a stack trace) that nobody reads — measurable on a proxy that opens and closes many tunnels.
 */
function endSoftly(s: Socket): void {
  if (!s.destroyed && !s.writableEnded) s.end();
}

/** A direction that has relayed this much on Node's default reads is busy: it switches to a buffer of its own. */
const OWN_BUFFER_AFTER = 256 * 1024;
/**
 * The busy direction's buffer. Larger reads mean fewer syscalls per GB; 128 KiB per direction still stays in
 * L2 cache beside the kernel's copies (64 KiB: ~10% more CPU per GB, 256 KiB: ~5% less, measured).
 */
const OWN_BUFFER_BYTES = 128 * 1024;
/** What a busy direction shrinks to once the whole tunnel has been quiet for an idle check interval. */
const QUIET_BUFFER_BYTES = 2 * 1024;
/**
 * Each shrink stacks one small read listener on the socket's handle (freed with the socket), so a tunnel that
 * goes busy and quiet over and over shrinks this many times and then keeps its buffer.
 */
const MAX_SHRINKS = 16;

/**
 * One direction of a relay: reads `from`, writes `to`. It starts on Node's default reads ('data' events) and,
 * once busy, reads into a buffer of its own (own-read-buffer.ts): each read is handed to `to.write()` as it
 * is; when that write cannot finish at once the buffer is still in use, so reading stops until the write's
 * callback says it is done, which is also the backpressure. Sockets throttled underneath (a user's or an
 * escaper's speed limit, limit/socket-throttle.ts) see their 'data' events and write() results, so they
 * never switch.
 */
class Flow {
  /** set while `from` is paused because `to` has not taken everything yet */
  backpressured = false;
  limit: ReadThrottle | null = null;
  /** bytes relayed on Node's default reads, until the switch */
  private plainBytes = 0;
  /** the buffer `from` reads into, once it has one */
  private own: Buffer | null = null;
  private shrinks = 0;

  constructor(
    readonly from: Socket,
    readonly to: Socket,
    private readonly count: (n: number) => void,
  ) {}

  start(): void {
    this.from.on('data', this.onData);
    // a direction paused by the speed limit stays paused until its slice ends, whatever the drain says
    this.to.on('drain', () => {
      this.backpressured = false;
      if (!this.limit?.blocked) this.from.resume();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.count(chunk.length);
    if (!this.to.write(chunk)) {
      this.backpressured = true;
      this.from.pause();
    }
    if (this.limit) this.limit.consume(chunk.length, this.from);
    else if ((this.plainBytes += chunk.length) >= OWN_BUFFER_AFTER && !this.backpressured) this.switchToOwnBuffer();
  };

  private switchToOwnBuffer(): void {
    this.plainBytes = -Infinity; // one try
    if (isThrottled(this.from) || isThrottled(this.to)) return;
    const buf = Buffer.allocUnsafeSlow(OWN_BUFFER_BYTES);
    if (readIntoOwnBuffer(this.from, buf, this.onOwnRead, this.nextBuffer)) this.own = buf;
  }

  private readonly onOwnRead = (n: number, buf: Buffer): boolean => {
    this.count(n);
    // a quiet-sized buffer that came back full: busy again
    if (n === buf.length && buf.length < OWN_BUFFER_BYTES) this.own = Buffer.allocUnsafeSlow(OWN_BUFFER_BYTES);
    this.to.write(buf.subarray(0, n), this.afterOwnWrite);
    if (this.to.writableLength === 0) return true;
    this.backpressured = true;
    return false;
  };

  /** which buffer the next read goes into (asked by Node after every read) */
  private readonly nextBuffer = (): Buffer | null => this.own;

  private readonly afterOwnWrite = (err?: Error | null): void => {
    if (!err && this.backpressured && this.to.writableLength === 0) {
      this.backpressured = false;
      this.from.resume();
    }
  };

  /** The tunnel was quiet for a whole idle check interval: give the large buffer back. */
  shrink(): void {
    if (!this.own || this.own.length <= QUIET_BUFFER_BYTES || this.backpressured || this.shrinks >= MAX_SHRINKS) return;
    const small = Buffer.allocUnsafeSlow(QUIET_BUFFER_BYTES);
    if (replaceOwnBuffer(this.from, small)) {
      this.own = small;
      this.shrinks++;
    }
  }
}

export class Relay {
  /** reads seen since the last idle check; a new relay counts as active until the first check, so one idle
   * check interval always passes before it can be closed as idle (the server's timer phase is arbitrary) */
  private activity = 1;
  private idleChecks = 0;
  private closed = false;
  private firstEnd: RelayEnd | undefined;
  private readonly up: Flow;
  private readonly down: Flow;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly task: TaskContext,
    private readonly stats: ServerStats | null,
    private readonly onDone: (end: RelayEnd, relay: Relay) => void,
    /** per-connection speed limit (tcp_sock_speed_limit); null or disabled = unlimited */
    limit: TcpSpeedLimit | null = null,
  ) {
    this.up = new Flow(client, upstream, this.countUp);
    this.down = new Flow(upstream, client, this.countDown);
    if (limit?.enabled) {
      const { up, down } = sliceBudgets(limit);
      if (up) this.up.limit = new ReadThrottle(up, () => !this.up.backpressured);
      if (down) this.down.limit = new ReadThrottle(down, () => !this.down.backpressured);
    }
  }

  private readonly countUp = (n: number): void => {
    this.task.cRdBytes += n;
    this.task.rWrBytes += n;
    if (this.stats) this.stats.inBytes += n;
    this.activity++;
  };

  private readonly countDown = (n: number): void => {
    this.task.rRdBytes += n;
    this.task.cWrBytes += n;
    if (this.stats) this.stats.outBytes += n;
    this.activity++;
  };

  /**
   * Pass on client bytes read before the relay started (sent ahead of the proxy's reply, e.g. an eager TLS
   * ClientHello), counted as relayed traffic; call before start().
   */
  sendEarly(b: Buffer): void {
    this.countUp(b.length);
    this.upstream.write(b);
  }

  start(): void {
    const { client, upstream, task } = this;
    this.up.start();
    this.down.start();
    // Half-close: a FIN from one side is passed on as a FIN to the other; each socket closes by itself once
    // both of its directions are done, and the relay ends when both have closed.
    // g3 logs the side that finished first (ClientShutdown / UpstreamShutdown) while the other still relays
    client.on('end', () => {
      if (this.firstEnd === undefined) {
        this.firstEnd = 'client';
        task.events?.shutdown(task, 'ClientShutdown');
      }
      endSoftly(upstream);
    });
    upstream.on('end', () => {
      if (this.firstEnd === undefined) {
        this.firstEnd = 'upstream';
        task.events?.shutdown(task, 'UpstreamShutdown');
      }
      endSoftly(client);
    });
    client.on('error', () => {
      this.firstEnd ??= 'client-error';
      upstream.destroy();
    });
    upstream.on('error', () => {
      this.firstEnd ??= 'upstream-error';
      client.destroy();
    });
    client.on('close', () => this.onClose(upstream, 'client'));
    upstream.on('close', () => this.onClose(client, 'upstream'));
    client.resume();
    upstream.resume();
  }

  private closedSockets = 0;
  private lingerTimer: NodeJS.Timeout | undefined;

  private onClose(other: Socket, side: 'client' | 'upstream'): void {
    this.firstEnd ??= side;
    if (++this.closedSockets === 2) {
      clearTimeout(this.lingerTimer);
      this.finish(this.firstEnd);
      return;
    }
    // The closed side can take no more data: let the other flush what it has, then make sure it goes.
    endSoftly(other);
    this.lingerTimer = setTimeout(() => other.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  /**
   * Called by the server's idle timer with the server's task_idle_max_count; the task user's own count, when
   * set, replaces it. Returns true when the relay was closed as idle.
   */
  idleTick(maxCount: number): boolean {
    if (this.activity > 0) {
      this.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    this.up.shrink();
    this.down.shrink();
    if (++this.idleChecks < (this.task.userResolve?.idleMaxCount ?? maxCount)) return false;
    this.finish('idle');
    return true;
  }

  /** Close now (server quit / force-quit). */
  abort(): void {
    this.finish('quit');
  }

  private finish(end: RelayEnd): void {
    if (this.closed) return;
    this.closed = true;
    this.up.limit?.stop();
    this.down.limit?.stop();
    clearTimeout(this.lingerTimer);
    this.client.destroy();
    this.upstream.destroy();
    this.onDone(end, this);
  }
}
