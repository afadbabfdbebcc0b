/**
 * Opening a TCP or TLS connection to a DNS server, bounded: `connect_timeout` covers the TCP connect and the
 * tls_client's `handshake_timeout` the TLS handshake after it.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { ExchangeError, socketFailure } from './exchange-error.js';

export interface TlsTarget {
  /** the name the server's certificate must carry (`tls_name`), a DNS name or an IP */
  name: string;
  options: ConnectionOptions;
  handshakeTimeoutMs: number;
  disableSni: boolean;
  /** ALPN to offer: ['h2'] for DNS-over-HTTPS */
  alpn?: string[];
}

export interface StreamTarget {
  ip: string;
  port: number;
  bindIp: string | undefined;
  connectTimeoutMs: number;
  tls: TlsTarget | undefined;
}

export function describeTarget(t: StreamTarget): string {
  return `${t.tls ? 'tls' : 'tcp'} ${isIP(t.ip) === 6 ? `[${t.ip}]` : t.ip}:${t.port}`;
}

export function openStream(t: StreamTarget, signal: AbortSignal): Promise<Socket | TLSSocket> {
  return new Promise((resolve, reject) => {
    const what = describeTarget(t);
    let sock: Socket;
    if (t.tls) {
      const tt = t.tls;
      // SNI carries DNS names only (RFC 6066 §3); an IP tls_name is still checked against the certificate
      const sni = !tt.disableSni && isIP(tt.name) === 0 ? tt.name : undefined;
      sock = tlsConnect({
        ...tt.options,
        host: t.ip,
        port: t.port,
        ...(t.bindIp ? { localAddress: t.bindIp } : {}),
        ...(sni ? { servername: sni } : {}),
        ...(tt.alpn ? { ALPNProtocols: tt.alpn } : {}),
        checkServerIdentity: (_host, cert) => checkServerIdentity(tt.name, cert),
      });
    } else {
      sock = netConnect({ host: t.ip, port: t.port, ...(t.bindIp ? { localAddress: t.bindIp } : {}) });
    }
    let done = false;
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      if (err) {
        sock.destroy();
        reject(err);
      } else {
        resolve(sock);
      }
    };
    const onAbort = () => finish(new ExchangeError('closed', 'resolver closed'));
    const onError = (e: Error) => finish(socketFailure(e, what));
    let timer = setTimeout(() => finish(new ExchangeError('timeout', `${what}: no connection within ${t.connectTimeoutMs}ms`)), t.connectTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', onError);
    sock.once('connect', () => {
      if (!t.tls) return finish(null);
      clearTimeout(timer);
      timer = setTimeout(() => finish(new ExchangeError('timeout', `${what}: TLS handshake not done within ${t.tls!.handshakeTimeoutMs}ms`)), t.tls.handshakeTimeoutMs);
    });
    if (t.tls) sock.once('secureConnect', () => finish(null));
  });
}
