/**
 * Bidirectional byte relay between a client and an upstream socket, with backpressure each way, half-close
 * propagation, per-task byte counters and an idle check driven by the owning server's single interval timer
 * (one timer per server, not per tunnel, so thousands of idle tunnels cost no timers).
 */
import type { Socket } from 'node:net';
import type { ServerStats } from '../stat/server-stats.js';
import type { TaskContext } from '../task/task.js';
import { throttlesFor, type SpeedThrottle } from './throttle.js';

/** How long a half-closed tunnel may take to flush its other side once one side has closed. */
const LINGER_MS = 5000;

export type RelayEnd = 'client' | 'upstream' | 'client-error' | 'upstream-error' | 'idle' | 'quit';

export class Relay {
  /** bytes seen since the last idle check */
  private activity = 0;
  private idleChecks = 0;
  private closed = false;
  private firstEnd: RelayEnd | undefined;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly task: TaskContext,
    private readonly stats: ServerStats | null,
    private readonly onDone: (end: RelayEnd, relay: Relay) => void,
    speedLimit?: { shiftMillis: number; maxUpload: number; maxDownload: number },
  ) {
    if (speedLimit) {
      const t = throttlesFor(speedLimit, () => !upstream.writableNeedDrain, () => !client.writableNeedDrain);
      this.upThrottle = t.up;
      this.downThrottle = t.down;
    }
  }

  private upThrottle: SpeedThrottle | null = null;
  private downThrottle: SpeedThrottle | null = null;

  start(): void {
    const { client, upstream, task } = this;
    client.on('data', (chunk: Buffer) => {
      task.cRdBytes += chunk.length;
      if (this.stats) this.stats.inBytes += chunk.length;
      this.activity++;
      task.rWrBytes += chunk.length;
      if (!upstream.write(chunk)) client.pause();
      if (this.upThrottle) this.upThrottle.consume(chunk.length, client);
    });
    upstream.on('data', (chunk: Buffer) => {
      task.rRdBytes += chunk.length;
      this.activity++;
      task.cWrBytes += chunk.length;
      if (this.stats) this.stats.outBytes += chunk.length;
      if (!client.write(chunk)) upstream.pause();
      if (this.downThrottle) this.downThrottle.consume(chunk.length, upstream);
    });
    // a drain resumes the reader unless the throttle holds it; the throttle resumes it when it may
    upstream.on('drain', () => {
      if (!this.upThrottle?.blocked) client.resume();
    });
    client.on('drain', () => {
      if (!this.downThrottle?.blocked) upstream.resume();
    });
    // Half-close: a FIN from one side is passed on as a FIN to the other; each socket closes by itself once
    // both of its directions are done, and the relay ends when both have closed.
    client.on('end', () => {
      this.firstEnd ??= 'client';
      upstream.end();
    });
    upstream.on('end', () => {
      this.firstEnd ??= 'upstream';
      client.end();
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
    other.end();
    this.lingerTimer = setTimeout(() => other.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Called by the server's idle timer. Returns true when the relay was closed as idle. */
  idleTick(maxCount: number): boolean {
    if (this.activity > 0) {
      this.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    if (++this.idleChecks < maxCount) return false;
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
    clearTimeout(this.lingerTimer);
    this.upThrottle?.stop();
    this.downThrottle?.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.onDone(end, this);
  }
}
