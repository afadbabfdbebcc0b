/**
 * Connect to one of several addresses the way RFC 8305 asks: addresses of the preferred family first (as many
 * as `firstAddressFamilyCount`), then alternating families; a new attempt starts every `attemptDelayMs` or as soon
 * as the previous one fails; the first to connect wins and the rest are destroyed.
 */
import { connect, type Socket } from 'node:net';
import { connectErrorCode, SluiceError } from '@sluice/common';
import type { CancelSignal } from '../runtime/cancel.js';

const noop = () => {};

export interface HappyEyeballsOptions {
  attemptDelayMs: number;
  /** per attempt */
  eachTimeoutMs: number;
  /** attempts at most (g3: tcp_connect.max_retry + 1) */
  maxAttempts: number;
  firstAddressFamilyCount: number;
  /** local address per family, if bound */
  bindIp?: (family: 4 | 6) => string | undefined;
  keepAlive?: { enable: boolean; idleMs: number };
  /** TCP_NODELAY (default on) */
  noDelay?: boolean;
}

export interface HappyResult {
  socket: Socket;
  tries: number;
  peer: string;
}

/** Interleave: `first` addresses of the preferred list, then alternate between the lists. */
export function interleave(preferred: string[], other: string[], firstCount: number): string[] {
  const out = preferred.slice(0, firstCount);
  let i = firstCount;
  let j = 0;
  while (i < preferred.length || j < other.length) {
    if (j < other.length) out.push(other[j++]!);
    if (i < preferred.length) out.push(preferred[i++]!);
  }
  return out;
}

export function happyConnect(addrs: string[], port: number, opts: HappyEyeballsOptions, signal: CancelSignal): Promise<HappyResult> {
  return new Promise((resolve, reject) => {
    const list = addrs.slice(0, Math.max(1, opts.maxAttempts));
    const live = new Set<Socket>();
    let next = 0;
    let tries = 0;
    let done = false;
    let lastErr: unknown;
    let timedOut = false;
    let stagger: NodeJS.Timeout | undefined;

    const finish = (err: SluiceError | null, result?: HappyResult) => {
      if (done) return;
      done = true;
      clearTimeout(stagger);
      signal.removeEventListener('abort', onAbort);
      for (const s of live) if (!result || s !== result.socket) s.destroy();
      live.clear();
      if (err) reject(err);
      else resolve(result!);
    };
    const onAbort = () => finish(new SluiceError('CLIENT_CLOSED_EARLY', 'connect canceled: client went away'));
    signal.addEventListener('abort', onAbort, { once: true });

    const failOne = (s: Socket, e: unknown) => {
      live.delete(s);
      s.destroy();
      lastErr = e;
      if (done) return;
      if (next < list.length) {
        clearTimeout(stagger);
        start();
      } else if (live.size === 0) {
        const code = timedOut && connectErrorCode(lastErr) !== 'UPSTREAM_CONNECT_REFUSED' ? 'UPSTREAM_CONNECT_TIMEOUT' : connectErrorCode(lastErr);
        finish(new SluiceError(code, `connect to ${list.join(',')} port ${port} failed: ${(lastErr as Error)?.message ?? lastErr}`, { cause: lastErr }));
      }
    };

    const start = () => {
      if (done || next >= list.length) return;
      const ip = list[next++]!;
      tries++;
      const family = ip.includes(':') ? 6 : 4;
      const localAddress = opts.bindIp?.(family);
      const s = connect({ host: ip, port, family, localAddress, noDelay: opts.noDelay ?? true });
      live.add(s);
      s.setTimeout(opts.eachTimeoutMs, () => {
        timedOut = true;
        const e = Object.assign(new Error(`connect to ${ip} timed out`), { code: 'ETIMEDOUT' });
        failOne(s, e);
      });
      s.once('error', (e) => failOne(s, e));
      s.once('connect', () => {
        s.setTimeout(0);
        s.removeAllListeners('error');
        // Owners attach their own handlers; this keeps a late error from being an uncaught exception.
        s.on('error', noop);
        if (opts.keepAlive?.enable) s.setKeepAlive(true, opts.keepAlive.idleMs);
        finish(null, { socket: s, tries, peer: family === 6 ? `[${ip}]:${port}` : `${ip}:${port}` });
      });
      if (next < list.length) stagger = setTimeout(start, opts.attemptDelayMs);
    };

    if (signal.aborted) return onAbort();
    if (list.length === 0) return finish(new SluiceError('RESOLVE_NO_ADDRESS', 'no address to connect to'));
    start();
  });
}
