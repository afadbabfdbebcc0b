/**
 * TLS man-in-the-middle on streams that are already connected, in g3's order:
 *
 *   1. the client's ClientHello (already read by the caller) gives SNI and ALPN;
 *   2. a cached fake certificate for the SNI host is looked up (no query yet);
 *   3. TLS to the upstream with tls_interception_client settings, SNI = the client's SNI (else the task
 *      host, unless that is an IP), offering the client's ALPN protocols that sluice can relay (h2, http/1.1);
 *   4. without a cached certificate the cert agent is asked, passing the upstream's real leaf so the
 *      generator can mimic it;
 *   5. the client-facing TLS server is completed with the fake certificate, offering only the protocol the
 *      upstream selected, so both sides speak the same thing.
 */
import { performance } from 'node:perf_hooks';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, TLSSocket, type SecureContext } from 'node:tls';
import { SluiceError, type ErrorCode } from '@sluice/common';
import { parseClientHello, TlsHelloError } from '@sluice/protocol';
import { CertAgent } from './cert-agent.js';
import type { TlsInterceptionConfig } from './config.js';
import { clientHelloAlpn } from './hello-alpn.js';

/** What the auditor hands over once it has seen a ClientHello on a tunnel. */
export interface TlsInterceptArgs {
  /**
   * The client side of the tunnel. The caller must have removed its own 'data'/'readable' listeners:
   * the bytes in `clientHello` are pushed back into it and the TLS server reads from it from then on.
   */
  client: Duplex;
  /** Every byte read from `client` so far: a complete ClientHello (see parseClientHello), maybe more. */
  clientHello: Buffer;
  /** A connected stream to the upstream (a TCP socket from an escaper, or a tunnel through a proxy). */
  upstream: Duplex;
  /** The task's upstream host and port (certificate host and SNI when the client sent no SNI). */
  host: string;
  port: number;
  /** An overall bound on the whole interception, on top of the per-phase timeouts of the config. */
  timeoutMs?: number;
  /** ALPN protocols the caller will not carry (g3 drops h2 when h2_inspect_policy blocks it, so clients fall back to HTTP/1.1) */
  alpnAllowed?: (protocol: string) => boolean;
}

export interface TlsInterceptTimings {
  /** upstream TLS handshake */
  upstreamHandshakeMs: number;
  /** certificate from the cache or the agent (0 when cached) */
  certFetchMs: number;
  /** client-facing TLS handshake */
  clientHandshakeMs: number;
  totalMs: number;
}

export interface TlsInterceptResult {
  /** decrypted client side: read the client's requests, write responses */
  client: TLSSocket;
  /** decrypted upstream side */
  upstream: TLSSocket;
  /** the client's SNI, if it sent one */
  sni?: string;
  /** the protocol both sides agreed on ('h2', 'http/1.1'), false without ALPN */
  alpn: string | false;
  /** whether the upstream certificate verified (false only possible with `insecure`) */
  upstreamVerified: boolean;
  /** the upstream's verification error when not verified */
  upstreamVerifyError?: string;
  timings: TlsInterceptTimings;
}

/** ALPN protocols sluice can relay after interception; others are not offered upstream (as g3 retains its own). */
const RELAYABLE_ALPN = new Set(['h2', 'http/1.1']);
/** g3's default tls_max_client_hello_size */
const MAX_CLIENT_HELLO = 1 << 14;

export class TlsInterceptor {
  private readonly agent: CertAgent;

  constructor(readonly config: TlsInterceptionConfig) {
    this.agent = new CertAgent(config.certAgent);
  }

  /**
   * Run the interception. Resolves once both TLS sessions are up. Rejects with a SluiceError whose code
   * names the cause (CLIENT_PROTOCOL_INVALID, UPSTREAM_TLS_HANDSHAKE_FAILED/_TIMEOUT, UPSTREAM_TLS_VERIFY_FAILED,
   * TLS_CERT_AGENT_TIMEOUT/_INVALID, CLIENT_TLS_HANDSHAKE_FAILED/_TIMEOUT); both streams are destroyed then.
   */
  async intercept(a: TlsInterceptArgs): Promise<TlsInterceptResult> {
    const t0 = performance.now();
    const deadline = a.timeoutMs !== undefined ? t0 + a.timeoutMs : Infinity;
    const left = (phaseMs: number) => Math.max(1, Math.min(phaseMs, deadline - performance.now()));
    let ups: TLSSocket | undefined;
    let clt: TLSSocket | undefined;
    try {
      let helloEnd: number;
      let sni: string | undefined;
      try {
        const hello = parseClientHello(a.clientHello, MAX_CLIENT_HELLO);
        if (!hello) throw new SluiceError('CLIENT_PROTOCOL_INVALID', 'incomplete TLS ClientHello');
        sni = hello.serverName;
        helloEnd = hello.recordBytes;
      } catch (e) {
        if (e instanceof TlsHelloError) throw new SluiceError('CLIENT_PROTOCOL_INVALID', `bad TLS ClientHello: ${e.message}`, { cause: e });
        throw e;
      }
      const offered = clientHelloAlpn(a.clientHello, helloEnd).filter((p) => RELAYABLE_ALPN.has(p) && (a.alpnAllowed?.(p) ?? true));
      const certHost = sni ?? a.host;
      const cached = this.agent.cached(certHost);

      const tUps = performance.now();
      const servername = sni ?? (isIP(a.host) ? undefined : a.host);
      ups = tlsConnect({
        ...this.config.client.options,
        socket: a.upstream,
        servername,
        ALPNProtocols: offered.length > 0 ? offered : undefined,
      });
      await handshake(ups, 'secureConnect', left(this.config.client.handshakeTimeoutMs), 'UPSTREAM_TLS_HANDSHAKE_TIMEOUT', 'UPSTREAM_TLS_HANDSHAKE_FAILED', 'upstream');
      const upstreamHandshakeMs = performance.now() - tUps;
      const upstreamVerified = ups.authorized;
      const upstreamVerifyError = upstreamVerified ? undefined : String(ups.authorizationError ?? 'unverified');
      if (!upstreamVerified && !this.config.client.insecure) {
        throw new SluiceError('UPSTREAM_TLS_VERIFY_FAILED', `upstream certificate of ${servername ?? a.host} not trusted: ${upstreamVerifyError}`);
      }

      const tCert = performance.now();
      let context: SecureContext;
      if (cached) context = cached;
      else {
        const leaf = ups.getPeerCertificate(false);
        const raw = leaf && 'raw' in leaf ? leaf.raw : undefined;
        context = await withTimeout(this.agent.fetch(certHost, raw), left(Infinity), () =>
          new SluiceError('TLS_CERT_AGENT_TIMEOUT', `no certificate for ${certHost} within the interception timeout`));
      }
      const certFetchMs = cached ? 0 : performance.now() - tCert;

      const alpn = ups.alpnProtocol ?? false;
      const tClt = performance.now();
      // the caller read the hello off the stream: hand the bytes back so the TLS server parses them first
      a.client.pause();
      a.client.unshift(a.clientHello);
      clt = new TLSSocket(a.client, {
        isServer: true,
        secureContext: context,
        ALPNProtocols: alpn ? [alpn] : undefined,
        requestCert: false,
      });
      await handshake(clt, 'secure', left(this.config.server.acceptTimeoutMs), 'CLIENT_TLS_HANDSHAKE_TIMEOUT', 'CLIENT_TLS_HANDSHAKE_FAILED', 'client');
      const clientHandshakeMs = performance.now() - tClt;
      return {
        client: clt,
        upstream: ups,
        sni,
        alpn: clt.alpnProtocol ?? false,
        upstreamVerified,
        upstreamVerifyError,
        timings: { upstreamHandshakeMs, certFetchMs, clientHandshakeMs, totalMs: performance.now() - t0 },
      };
    } catch (e) {
      ups?.destroy();
      clt?.destroy();
      a.upstream.destroy();
      a.client.destroy();
      if (e instanceof SluiceError) throw e;
      throw new SluiceError('INTERNAL', `TLS interception failed: ${(e as Error).message}`, { cause: e });
    }
  }

  close(): void {
    this.agent.close();
  }
}

/** Wait for a TLS socket's handshake event, turning errors, early close and time-out into SluiceErrors. */
function handshake(s: TLSSocket, event: 'secure' | 'secureConnect', timeoutMs: number, timeoutCode: ErrorCode, failCode: ErrorCode, side: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: SluiceError) => {
      clearTimeout(timer);
      s.off(event, onOk);
      s.off('error', onErr);
      s.off('close', onClose);
      if (err) {
        // keep later errors of the destroyed socket from becoming uncaught exceptions
        s.on('error', () => {});
        reject(err);
      } else resolve();
    };
    const onOk = () => finish();
    const onErr = (e: Error) => finish(new SluiceError(failCode, `${side} TLS handshake failed: ${e.message}`, { cause: e }));
    const onClose = () => finish(new SluiceError(failCode, `${side} closed during the TLS handshake`));
    const timer = setTimeout(() => finish(new SluiceError(timeoutCode, `${side} TLS handshake timed out after ${Math.round(timeoutMs)}ms`)), timeoutMs);
    s.once(event, onOk);
    s.once('error', onErr);
    s.once('close', onClose);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, err: () => SluiceError): Promise<T> {
  if (!Number.isFinite(ms)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(err()), ms);
    p.then((v) => {
      clearTimeout(t);
      resolve(v);
    }, (e: unknown) => {
      clearTimeout(t);
      reject(e);
    });
  });
}
