/**
 * What a port in front of a server does before handing a socket on: read an optional PROXY protocol header
 * (bounded in time and size) and terminate TLS (with optional client-certificate verification). The caller gets
 * the socket to hand over, with the bytes read past the header pushed back into it, and the ClientInfo as the
 * PROXY header states it.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { Server as TlsServer, type SecureContext, type TLSSocket } from 'node:tls';
import { ProxyHeaderDecoder, ProxyProtocolError, type ProxyHeader } from '@sluice/protocol';
import { formatSockAddr } from '../task/task.js';
import type { TlsServerConfig } from '../tls/tls-config.js';
import type { RollingTicketer } from '../tls/ticketer.js';
import type { ClientInfo } from './types.js';

export class PreludeError extends Error {}

/** Read until `pred` is satisfied by the bytes so far; on timeout or close rejects. The listener is removed after. */
function readPrefix<T>(socket: Socket, timeoutMs: number, what: string, step: (chunk: Buffer) => T | null): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (err: Error | null, v?: T) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(v as T);
    };
    const onData = (chunk: Buffer) => {
      let r: T | null;
      try {
        r = step(chunk);
      } catch (e) {
        return done(e as Error);
      }
      if (r !== null) done(null, r);
    };
    const onClose = () => done(new PreludeError(`client closed while sending ${what}`));
    const timer = setTimeout(() => done(new PreludeError(`${what} not received in time`)), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    socket.resume();
  });
}

/** Read a PROXY header of `version` (1 or 2); bytes after it are unshifted back into the socket. */
export async function readProxyProtocol(socket: Socket, version: 1 | 2, timeoutMs: number): Promise<ProxyHeader> {
  const decoder = new ProxyHeaderDecoder({ versions: [version] });
  const r = await readPrefix(socket, timeoutMs, 'the PROXY protocol header', (chunk) => decoder.push(chunk));
  if (r.rest.length > 0) socket.unshift(r.rest);
  return r.header;
}

/** The client as the PROXY header names it (a LOCAL header keeps the socket's own addresses). */
export function applyProxyHeader(info: ClientInfo, h: ProxyHeader): ClientInfo {
  if (h.command !== 'proxy' || !h.source || !h.destination) return info;
  return {
    ...info,
    clientIp: h.source.ip,
    clientPort: h.source.port,
    serverIp: h.destination.ip,
    serverPort: h.destination.port,
    clientAddr: formatSockAddr(h.source.ip, h.source.port)!,
    serverAddr: formatSockAddr(h.destination.ip, h.destination.port)!,
  };
}

/** Wait for the first byte(s) without consuming them (protocol detection). */
export async function peekFirstByte(socket: Socket, timeoutMs: number): Promise<number> {
  const first = await readPrefix(socket, timeoutMs, 'the first bytes', (chunk) => (chunk.length > 0 ? chunk : null));
  socket.unshift(first);
  return first[0]!;
}

interface TlsWaiter {
  resolve(t: TLSSocket): void;
  reject(e: Error): void;
}

/**
 * A non-listening tls.Server per TLS config: handing it a socket through its 'connection' event gives the same
 * handshake, client-certificate verification and handshake timeout as a listening one.
 */
const tlsServers = new WeakMap<TlsServerConfig, TlsServer>();
const waiters = new WeakMap<Socket, TlsWaiter>();
/** the ticketer whose keys a tls.Server's context uses */
const ticketers = new WeakMap<TlsServer, RollingTicketer>();

/**
 * Give a tls.Server's context the ticketer's session ticket keys. The context is the server's own (node has no
 * public getter for it); without it the server keeps node's per-server random ticket key.
 */
function useTicketer(srv: TlsServer, ticketer: RollingTicketer): void {
  if (ticketers.get(srv) === ticketer) return;
  const creds = (srv as unknown as { _sharedCreds?: SecureContext })._sharedCreds;
  if (!creds) return;
  ticketer.attach(creds);
  ticketers.set(srv, ticketer);
}

function tlsServerFor(cfg: TlsServerConfig): TlsServer {
  let srv = tlsServers.get(cfg);
  if (srv) return srv;
  srv = new TlsServer({
    ...cfg.contextOptions,
    requestCert: cfg.requestCert,
    rejectUnauthorized: cfg.requestCert,
    handshakeTimeout: cfg.handshakeTimeoutMs,
    ALPNProtocols: cfg.alpn,
    sessionIdContext: sessionIdContextOf(cfg),
  });
  srv.on('secureConnection', (t: TLSSocket) => {
    const raw = (t as unknown as { _parent?: Socket })._parent;
    const w = raw ? waiters.get(raw) : undefined;
    if (!w) return void t.destroy();
    waiters.delete(raw!);
    w.resolve(t);
  });
  srv.on('tlsClientError', (err: Error, t: TLSSocket) => {
    const raw = (t as unknown as { _parent?: Socket })._parent;
    const w = raw ? waiters.get(raw) : undefined;
    t.destroy();
    if (!w) return;
    waiters.delete(raw!);
    w.reject(new PreludeError(`TLS handshake failed: ${err.message}`));
  });
  tlsServers.set(cfg, srv);
  return srv;
}

/**
 * The session id context, which a resumed session must match: node's default is made from the process's
 * command line, so two daemons of a fleet (sharing ticket keys through tls_ticketer) would refuse each other's
 * sessions. Made from the certificates instead: the same for every server offering them, different otherwise.
 */
function sessionIdContextOf(cfg: TlsServerConfig): string {
  const certs = cfg.contextOptions.cert;
  const h = createHash('sha256');
  for (const c of Array.isArray(certs) ? certs : [certs]) h.update(String(c ?? ''));
  return h.digest('hex').slice(0, 32);
}

/**
 * Terminate TLS on `socket` as a server; resolves with the TLS socket once the handshake (and client auth)
 * passed. With a `ticketer` (tls_ticketer) session tickets use its rolling keys.
 */
export function acceptTls(socket: Socket, cfg: TlsServerConfig, ticketer?: RollingTicketer | null): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const onClose = () => {
      if (!waiters.has(socket)) return;
      waiters.delete(socket);
      reject(new PreludeError('client closed during the TLS handshake'));
    };
    waiters.set(socket, {
      resolve: (t) => {
        socket.off('close', onClose);
        resolve(t);
      },
      reject: (e) => {
        socket.off('close', onClose);
        socket.destroy();
        reject(e);
      },
    });
    socket.once('close', onClose);
    const srv = tlsServerFor(cfg);
    if (ticketer) useTicketer(srv, ticketer);
    srv.emit('connection', socket);
  });
}

export { ProxyProtocolError };
