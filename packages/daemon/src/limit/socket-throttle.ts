/**
 * The one way a speed limit holds a socket back: reading pauses (nothing is buffered, so the kernel's window
 * pushes back on the sender) until the budget has paid for what was read. Code that reads the socket itself
 * charges a ReadThrottle per chunk; where the code above must not know about limits (escaper upstreams, user
 * limits on client sockets) throttleSocket installs the same throttle underneath it. Nothing is installed for an
 * unlimited socket, so it pays nothing.
 */
import type { Socket } from 'node:net';
import type { TcpSpeedLimit } from '@sluice/common';
import { sliceBudgets, type ByteBudget } from './slice-budget.js';

/** What a throttle pauses and resumes: a socket, or the original methods of a patched one. */
export interface Pausable {
  pause(): unknown;
  resume(): unknown;
  readonly destroyed: boolean;
}

export class ReadThrottle<B extends ByteBudget = ByteBudget> {
  /** true while the throttle holds its source paused */
  blocked = false;
  private timer: NodeJS.Timeout | undefined;
  private src: Pausable | null = null;

  /**
   * @param mayResume whether the source may flow again once the budget is back (e.g. its destination is not
   *   waiting for drain); when false, whoever paused it for that reason resumes it later
   */
  constructor(readonly budget: B, private readonly mayResume: () => boolean) {}

  /** Charge `n` bytes just read from `src`; pauses `src` while the budget is used up. */
  consume(n: number, src: Pausable): void {
    const wait = this.budget.take(n);
    if (wait <= 0 || this.blocked) return;
    this.blocked = true;
    this.src = src;
    src.pause();
    this.timer = setTimeout(this.onTimer, wait);
  }

  private readonly onTimer = (): void => {
    this.blocked = false;
    const s = this.src;
    this.src = null;
    if (s && !s.destroyed && this.mayResume()) s.resume();
  };

  stop(): void {
    clearTimeout(this.timer);
    this.blocked = false;
    this.src = null;
  }
}

/**
 * Limit `socket` beneath the code that uses it: reads pause while `read`'s budget is used up (a resume() asked
 * for meanwhile waits for the budget), and writes report backpressure while `write`'s is (write() returns false,
 * 'drain' comes when the budget is back), which every sluice relay already honours.
 */
export function throttleSocket(socket: Socket, read: ByteBudget | null, write: ByteBudget | null): void {
  if (read) throttleReads(socket, read);
  if (write) throttleWrites(socket, write);
  if (read || write) throttled.add(socket);
}

const throttled = new WeakSet<Socket>();

/** Whether throttleSocket limits `socket` (which then must be read through 'data' and written through write()). */
export function isThrottled(socket: Socket): boolean {
  return throttled.has(socket);
}

function throttleReads(socket: Socket, budget: ByteBudget): void {
  const origResume = socket.resume.bind(socket);
  const origPause = socket.pause.bind(socket);
  // whether the socket should flow once the throttle lets go: false if someone else paused it meanwhile
  let wantResume = false;
  const gate: Pausable = {
    pause() {
      wantResume = !socket.isPaused();
      origPause();
    },
    resume: origResume,
    get destroyed() {
      return socket.destroyed;
    },
  };
  const throttle = new ReadThrottle(budget, () => wantResume);
  socket.resume = function resume(this: Socket) {
    if (throttle.blocked) wantResume = true;
    else origResume();
    return this;
  };
  socket.pause = function pause(this: Socket) {
    wantResume = false;
    origPause();
    return this;
  };
  socket.prependListener('data', (chunk: Buffer) => throttle.consume(chunk.length, gate));
  socket.once('close', () => throttle.stop());
}

function throttleWrites(socket: Socket, budget: ByteBudget): void {
  const origWrite = socket.write.bind(socket) as (...a: unknown[]) => boolean;
  let drainTimer: NodeJS.Timeout | undefined;
  socket.write = function write(this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    const ok = origWrite(chunk, ...rest);
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
    const wait = budget.take(n);
    if (wait <= 0) return ok;
    if (!drainTimer) {
      drainTimer = setTimeout(() => {
        drainTimer = undefined;
        // announce the budget is back; a writer still blocked by the kernel buffer gets the real 'drain' later
        if (!socket.destroyed && socket.writableLength === 0) socket.emit('drain');
      }, wait);
      drainTimer.unref();
    }
    return false;
  } as Socket['write'];
  // While the budget is used up, the socket's own 'drain' must not reach the writer: a TLS socket, whose
  // writes complete a moment later, emits one right after almost every write and would let the writer run on
  // at full speed. The budget's timer emits 'drain' when it is back (or the socket's own comes after it).
  const emit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = function throttledEmit(this: Socket, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'drain' && drainTimer) return false;
    return emit.call(this, event, ...args);
  } as Socket['emit'];
  socket.once('close', () => clearTimeout(drainTimer));
}

/**
 * An escaper's `tcp_sock_speed_limit` on its upstream socket: writes go upstream (upload), reads come from
 * upstream (download).
 */
export function throttleUpstreamSocket(socket: Socket, limit: TcpSpeedLimit | undefined): void {
  const { up, down } = sliceBudgets(limit);
  throttleSocket(socket, down, up);
}
