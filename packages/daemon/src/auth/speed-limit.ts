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
import { throttleSocket } from '../limit/socket-throttle.js';
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

  throttleSocket(socket, {
    readWait: (n) => Math.max(t.up?.take(n) ?? 0, t.user.uploadBucket?.take(n) ?? 0),
    writeWait: (n) => Math.max(t.down?.take(n) ?? 0, t.user.downloadBucket?.take(n) ?? 0),
  });
}
