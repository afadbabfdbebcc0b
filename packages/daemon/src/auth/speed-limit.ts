/**
 * Per-user speed limits on a client socket, applied beneath the relay code (limit/socket-throttle.ts): reads
 * (upload) pause once the budget is used, and writes (download) report backpressure until it is back.
 *
 * Both the per-socket limit (tcp_sock_speed_limit, 2^shift ms slices) and the user's process-wide buckets
 * (tcp_all_upload/download_speed_limit) are charged; the longer wait wins. A chunk already read or written
 * is never cut, so a slice may overshoot by one chunk.
 */
import type { Socket } from 'node:net';
import { sliceBudgets, type SliceBudget } from '../limit/slice-budget.js';
import { throttleSocket } from '../limit/socket-throttle.js';
import type { User } from './user.js';

interface Throttle {
  user: User;
  up: SliceBudget | null;
  down: SliceBudget | null;
}

const throttles = new WeakMap<Socket, Throttle>();

export function userHasSpeedLimit(user: User): boolean {
  return !!(user.config.tcpSockSpeedLimit?.enabled || user.uploadBucket || user.downloadBucket);
}

/** Limit `socket` (a client connection) by `user`'s speed limits. Calling again with another user switches. */
export function throttleClientSocket(socket: Socket, user: User): void {
  const existing = throttles.get(socket);
  if (existing) {
    if (existing.user !== user) Object.assign(existing, { user }, sliceBudgets(user.config.tcpSockSpeedLimit));
    return;
  }
  if (!userHasSpeedLimit(user)) return;
  const t: Throttle = { user, ...sliceBudgets(user.config.tcpSockSpeedLimit) };
  throttles.set(socket, t);
  throttleSocket(
    socket,
    { take: (n) => Math.max(t.up?.take(n) ?? 0, t.user.uploadBucket?.take(n) ?? 0) },
    { take: (n) => Math.max(t.down?.take(n) ?? 0, t.user.downloadBucket?.take(n) ?? 0) },
  );
}
