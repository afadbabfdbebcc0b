/**
 * Bidirectional byte relay between a client and an upstream socket, with backpressure each way, half-close
 * propagation, per-task byte counters and an idle check driven by the owning server's single interval timer
 * (one timer per server, not per tunnel, so thousands of idle tunnels cost no timers).
 */
import type { Socket } from 'node:net';
import type { TaskReason, TcpSpeedLimit } from '@sluice/common';
import { sliceBudgets } from '../limit/slice-budget.js';
import { ReadThrottle } from '../limit/socket-throttle.js';
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

export class Relay {
  /** reads seen since the last idle check; a new relay counts as active until the first check, so one idle
   * check interval always passes before it can be closed as idle (the server's timer phase is arbitrary) */
  private activity = 1;
  private idleChecks = 0;
  private closed = false;
  private firstEnd: RelayEnd | undefined;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly task: TaskContext,
    private readonly stats: ServerStats | null,
    private readonly onDone: (end: RelayEnd, relay: Relay) => void,
    /** per-connection speed limit (tcp_sock_speed_limit); null or disabled = unlimited */
    limit: TcpSpeedLimit | null = null,
  ) {
    if (limit?.enabled) {
      const { up, down } = sliceBudgets(limit);
      if (up) this.upLimit = new ReadThrottle(up, () => !this.clientBackpressured);
      if (down) this.downLimit = new ReadThrottle(down, () => !this.upstreamBackpressured);
    }
  }

  private upLimit: ReadThrottle | null = null;
  private downLimit: ReadThrottle | null = null;
  /** set while a side is paused because the other side's write buffer is full */
  clientBackpressured = false;
  upstreamBackpressured = false;

  /**
   * Pass on client bytes read before the relay started (sent ahead of the proxy's reply, e.g. an eager TLS
   * ClientHello), counted as relayed traffic; call before start().
   */
  sendEarly(b: Buffer): void {
    this.task.cRdBytes += b.length;
    this.task.rWrBytes += b.length;
    if (this.stats) this.stats.inBytes += b.length;
    this.upstream.write(b);
  }

  start(): void {
    const { client, upstream, task } = this;
    client.on('data', (chunk: Buffer) => {
      task.cRdBytes += chunk.length;
      if (this.stats) this.stats.inBytes += chunk.length;
      this.activity++;
      task.rWrBytes += chunk.length;
      if (!upstream.write(chunk)) {
        this.clientBackpressured = true;
        client.pause();
      }
      if (this.upLimit) this.upLimit.consume(chunk.length, client);
    });
    upstream.on('data', (chunk: Buffer) => {
      task.rRdBytes += chunk.length;
      this.activity++;
      task.cWrBytes += chunk.length;
      if (this.stats) this.stats.outBytes += chunk.length;
      if (!client.write(chunk)) {
        this.upstreamBackpressured = true;
        upstream.pause();
      }
      if (this.downLimit) this.downLimit.consume(chunk.length, upstream);
    });
    // A side paused by the speed limit stays paused until its slice ends, whatever the other side's drain says.
    upstream.on('drain', () => {
      this.clientBackpressured = false;
      if (!this.upLimit?.blocked) client.resume();
    });
    client.on('drain', () => {
      this.upstreamBackpressured = false;
      if (!this.downLimit?.blocked) upstream.resume();
    });
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
    this.upLimit?.stop();
    this.downLimit?.stop();
    clearTimeout(this.lingerTimer);
    this.client.destroy();
    this.upstream.destroy();
    this.onDone(end, this);
  }
}
