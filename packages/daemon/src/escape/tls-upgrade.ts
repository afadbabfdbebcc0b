/** TLS on top of an established TCP connection (https forward, TLS to a next proxy). */
import type { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { SluiceError } from '@sluice/common';
import type { CancelSignal } from '../runtime/cancel.js';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export function tlsUpgrade(socket: Socket, host: string, opts: ConnectionOptions & { handshakeTimeoutMs?: number }, signal: CancelSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const servername = opts.servername ?? (isIP(host) ? undefined : host);
    const t = tlsConnect({ ...opts, socket, servername, ALPNProtocols: opts.ALPNProtocols ?? ['http/1.1'] });
    let done = false;
    const fail = (e: SluiceError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      t.destroy();
      socket.destroy();
      reject(e);
    };
    const onAbort = () => fail(new SluiceError('CLIENT_CLOSED_EARLY', 'TLS handshake canceled: client went away'));
    const timer = setTimeout(() => fail(new SluiceError('UPSTREAM_TLS_HANDSHAKE_TIMEOUT', `TLS handshake with ${host} timed out`)), opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    signal.addEventListener('abort', onAbort, { once: true });
    t.once('error', (e) => fail(new SluiceError('UPSTREAM_TLS_HANDSHAKE_FAILED', `TLS handshake with ${host} failed: ${e.message}`, { cause: e })));
    t.once('secureConnect', () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      t.removeAllListeners('error');
      t.on('error', () => {});
      resolve(t);
    });
  });
}
