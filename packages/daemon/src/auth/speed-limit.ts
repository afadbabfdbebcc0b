/**
 * Per-user speed limits on a client socket, applied without touching the relay code: reads (upload) are
 * paused once the budget of the current slice is used, and writes (download) report backpressure (write()
 * returns false, 'drain' comes when the next slice opens), which every sluice relay already honours.
 *
 * Both the per-socket limit (tcp_sock_speed_limit, 2^shift ms slices) and the user's process-wide buckets
 * (tcp_all_upload/download_speed_limit) are charged; the longer wait wins. A chunk already read or written
 * is never cut, so a slice may overshoot by one chunk.
 */
import type { Socket } from 'node:net';
import { SliceBucket } from './limiter.js';
import type { User } from './user.js';

interface Throttle {
  user: User;
  up: SliceBucket | undefined;
  down: SliceBucket | undefined;
}

const throttles = new WeakMap<Socket, Throttle>();

function slices(user: User): { up: SliceBucket | undefined; down: SliceBucket | undefined } {
  const l = user.config.tcpSockSpeedLimit;
  if (!l || !l.enabled) return { up: undefined, down: undefined };
  const ms = 2 ** l.shiftMillis;
  return { up: l.maxUpload > 0 ? new SliceBucket(ms, l.maxUpload) : undefined, down: l.maxDownload > 0 ? new SliceBucket(ms, l.maxDownload) : undefined };
}

export function userHasSpeedLimit(user: User): boolean {
  return !!(user.config.tcpSockSpeedLimit?.enabled || user.uploadBucket || user.downloadBucket);
}

/** Limit `socket` (a client connection) by `user`'s speed limits. Calling again with another user switches. */
export function throttleClientSocket(socket: Socket, user: User): void {
  const existing = throttles.get(socket);
  if (existing) {
    if (existing.user !== user) Object.assign(existing, { user }, slices(user));
    return;
  }
  if (!userHasSpeedLimit(user)) return;
  const t: Throttle = { user, ...slices(user) };
  throttles.set(socket, t);

  // upload: pause reading until the budget comes back; a resume() asked for meanwhile is deferred
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
    const wait = Math.max(t.up?.take(chunk.length) ?? 0, t.user.uploadBucket?.take(chunk.length) ?? 0);
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

  // download: backpressure on write while the budget is used up
  const origWrite = socket.write.bind(socket) as (...a: unknown[]) => boolean;
  let drainTimer: NodeJS.Timeout | undefined;
  socket.write = function write(this: Socket, chunk: unknown, ...rest: unknown[]): boolean {
    const ok = origWrite(chunk, ...rest);
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
    const wait = Math.max(t.down?.take(n) ?? 0, t.user.downloadBucket?.take(n) ?? 0);
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
