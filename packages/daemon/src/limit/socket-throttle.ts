/**
 * Speed limits applied to a socket without touching the relay code above it: reads are paused once the
 * current slice's budget is used, and writes report backpressure (write() returns false, 'drain' comes when the
 * next slice opens), which every sluice relay already honours. A chunk already read or written is never cut,
 * so a slice may overshoot by one chunk.
 */
import type { Socket } from 'node:net';
import type { TcpSpeedLimit } from '@sluice/common';
import { SliceBucket } from '../auth/limiter.js';

export interface ThrottleRates {
  /** account `n` bytes just read; ms to wait before reading more (0 = go on) */
  readWait(n: number): number;
  /** account `n` bytes just written; ms before the writer should write more (0 = go on) */
  writeWait(n: number): number;
}

/** Patch `socket` so its reads and writes follow `rates`. */
export function throttleSocket(socket: Socket, rates: ThrottleRates): void {
  // reads: pause until the budget comes back; a resume() asked for meanwhile is deferred
  const origResume = socket.resume.bind(socket);
  const origPause = socket.pause.bind(socket);
  let held: NodeJS.Timeout | undefined;
  let wantResume = false;
  socket.resume = function resume(this: Socket) {
    if (held) wantResume = true;
    else origResume();
    return this;
  };
  socket.pause = function pause(this: Socket) {
    wantResume = false;
    origPause();
    return this;
  };
  socket.prependListener('data', (chunk: Buffer) => {
    const wait = rates.readWait(chunk.length);
    if (wait <= 0 || held) return;
    // if nobody else had paused the socket, it flows again once the budget is back
    wantResume = !socket.isPaused();
    origPause();
    held = setTimeout(() => {
      held = undefined;
      if (wantResume && !socket.destroyed) origResume();
    }, wait);
    held.unref();
  });

  // writes: backpressure while the budget is used up
  const origWrite = socket.write.bind(socket) as (...a: unknown[]) => boolean;
  let drainTimer: NodeJS.Timeout | undefined;
  socket.write = function write(this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    const ok = origWrite(chunk, ...rest);
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
    const wait = rates.writeWait(n);
    if (wait <= 0) return ok;
    if (!drainTimer) {
      drainTimer = setTimeout(() => {
        drainTimer = undefined;
        // announce the next slice; a writer still blocked by the kernel buffer gets the real 'drain' later
        if (!socket.destroyed && socket.writableLength === 0) socket.emit('drain');
      }, wait);
      drainTimer.unref();
    }
    return false;
  } as Socket['write'];
  socket.once('close', () => {
    clearTimeout(held);
    clearTimeout(drainTimer);
  });
}

/**
 * An escaper's `tcp_sock_speed_limit` on its upstream socket: writes go upstream (upload), reads come from
 * upstream (download).
 */
export function throttleUpstreamSocket(socket: Socket, limit: TcpSpeedLimit | undefined): void {
  if (!limit || !limit.enabled) return;
  const ms = 2 ** limit.shiftMillis;
  const up = limit.maxUpload > 0 ? new SliceBucket(ms, limit.maxUpload) : undefined;
  const down = limit.maxDownload > 0 ? new SliceBucket(ms, limit.maxDownload) : undefined;
  if (!up && !down) return;
  throttleSocket(socket, {
    readWait: (n) => down?.take(n) ?? 0,
    writeWait: (n) => up?.take(n) ?? 0,
  });
}
