/**
 * The client of a certificate generator (g3's `tls_cert_agent`): asks the UDP peer for a fake certificate
 * for a host and keeps the answers in a cache, one record per host.
 *
 * - A query is one msgpack datagram with numeric keys, as g3proxy sends it; it is resent while unanswered
 *   and given up after query_wait_timeout (callers wait at most cache_request_timeout).
 * - Concurrent fetches of one host share a query.
 * - A record lives for the response's ttl (protective_cache_ttl when the peer says 0, never longer than
 *   maximum_cache_ttl). Once expired it is kept cache_vanish_wait longer as a fallback for when the peer
 *   does not answer a refresh.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { decode, encode } from '@msgpack/msgpack';
import { SluiceError } from '@sluice/common';
import type { CertAgentConfig } from './config.js';

// g3's cert generator protocol ids (request and response tables differ)
const REQ_HOST = 1;
const REQ_SERVICE = 2;
const REQ_CERT = 3;
const REQ_USAGE = 4;
const RSP_KEYS: Record<string, string> = { 1: 'host', 2: 'service', 3: 'cert', 4: 'key', 5: 'ttl', 6: 'usage' };
/** TlsServiceType::Http and TlsCertUsage::TlsServer: the only kinds sluice intercepts */
const SERVICE_HTTP = 0;
const USAGE_TLS_SERVER = 0;

/** bound on cached hosts, so a scan of many names cannot grow memory without limit */
const MAX_RECORDS = 8192;
/** resend an unanswered query this often (at most; a short query_wait_timeout resends sooner) */
const RESEND_MS = 1000;

interface CacheRecord {
  context: SecureContext;
  expiresAt: number;
  vanishAt: number;
}

interface PendingQuery {
  promise: Promise<SecureContext>;
  resolve(ctx: SecureContext): void;
  reject(e: SluiceError): void;
}

export class CertAgent {
  private sock?: Socket;
  private readonly records = new Map<string, CacheRecord>();
  private readonly pending = new Map<string, PendingQuery>();
  private closed = false;

  constructor(readonly config: CertAgentConfig) {}

  /** A fresh cached context for `host`, without querying (g3's pre-fetch, done while the upstream handshakes). */
  cached(host: string): SecureContext | undefined {
    const r = this.records.get(host);
    return r && r.expiresAt > Date.now() ? r.context : undefined;
  }

  /**
   * The fake certificate for `host` as a server SecureContext. `upstreamCert` (DER) lets the generator
   * mimic the real certificate. Rejects with TLS_CERT_AGENT_TIMEOUT or TLS_CERT_AGENT_INVALID.
   */
  fetch(host: string, upstreamCert?: Buffer): Promise<SecureContext> {
    const now = Date.now();
    const r = this.records.get(host);
    if (r && r.expiresAt > now) return Promise.resolve(r.context);
    const waiting = this.pending.get(host);
    if (waiting) return waiting.promise;
    const p = this.query(host, upstreamCert);
    // an expired record still within cache_vanish_wait is better than failing the interception
    return p.catch((e: unknown) => {
      const stale = this.records.get(host);
      if (stale && stale.vanishAt > Date.now()) return stale.context;
      throw e;
    });
  }

  close(): void {
    this.closed = true;
    this.sock?.close();
    this.sock = undefined;
    for (const q of this.pending.values()) q.reject(new SluiceError('TLS_CERT_AGENT_TIMEOUT', 'cert agent closed'));
    this.pending.clear();
    this.records.clear();
  }

  private socket(): Socket {
    if (this.sock) return this.sock;
    const sock = createSocket({ type: isIP(this.config.peerHost) === 6 ? 'udp6' : 'udp4' });
    // not connect()ed: an ICMP "port unreachable" from a dead peer then stays a timeout instead of a socket error
    sock.on('message', (msg, rinfo) => {
      if (rinfo.port === this.config.peerPort) this.onResponse(msg);
    });
    sock.on('error', () => {
      // a broken socket is replaced on the next query; pending queries run into their timeout
      if (this.sock === sock) this.sock = undefined;
      sock.close();
    });
    const buf = this.config.socketBuffer;
    if (buf?.recvSize !== undefined || buf?.sendSize !== undefined) {
      sock.once('listening', () => {
        if (buf.recvSize !== undefined) sock.setRecvBufferSize(buf.recvSize);
        if (buf.sendSize !== undefined) sock.setSendBufferSize(buf.sendSize);
      });
    }
    sock.unref();
    this.sock = sock;
    return sock;
  }

  private query(host: string, upstreamCert: Buffer | undefined): Promise<SecureContext> {
    if (this.closed) return Promise.reject(new SluiceError('TLS_CERT_AGENT_TIMEOUT', 'cert agent closed'));
    let resolve!: (c: SecureContext) => void;
    let reject!: (e: SluiceError) => void;
    const promise = new Promise<SecureContext>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entries: Array<[number, unknown]> = [[REQ_HOST, host], [REQ_SERVICE, SERVICE_HTTP], [REQ_USAGE, USAGE_TLS_SERVER]];
    if (upstreamCert) entries.push([REQ_CERT, upstreamCert]);
    const datagram = encodeIdMap(entries);
    const waitMs = Math.min(this.config.queryWaitTimeoutMs, this.config.cacheRequestTimeoutMs);
    const send = () => this.socket().send(datagram, this.config.peerPort, this.config.peerHost, () => {});
    const resender = setInterval(send, Math.max(50, Math.min(RESEND_MS, Math.floor(waitMs / 3))));
    const timer = setTimeout(() => {
      q.reject(new SluiceError('TLS_CERT_AGENT_TIMEOUT', `no certificate for ${host} from ${this.config.peerHost}:${this.config.peerPort} within ${waitMs}ms`));
    }, waitMs);
    const done = () => {
      clearInterval(resender);
      clearTimeout(timer);
      if (this.pending.get(host) === q) this.pending.delete(host);
    };
    const q: PendingQuery = {
      promise,
      resolve: (c) => {
        done();
        resolve(c);
      },
      reject: (e) => {
        done();
        reject(e);
      },
    };
    this.pending.set(host, q);
    send();
    return promise;
  }

  private onResponse(msg: Buffer): void {
    let rsp: Record<string, unknown>;
    try {
      const root = decode(msg);
      if (root === null || typeof root !== 'object' || Array.isArray(root) || root instanceof Uint8Array) return;
      rsp = {};
      for (const [k, v] of Object.entries(root as Record<string, unknown>)) rsp[RSP_KEYS[k] ?? k] = v;
    } catch {
      return;
    }
    if (typeof rsp.host !== 'string') return;
    const q = this.pending.get(rsp.host);
    if (!q) return;
    let context: SecureContext;
    try {
      context = secureContextOf(rsp.cert, rsp.key);
    } catch (e) {
      q.reject(new SluiceError('TLS_CERT_AGENT_INVALID', `unusable certificate for ${rsp.host}: ${(e as Error).message}`, { cause: e }));
      return;
    }
    const ttl = typeof rsp.ttl === 'number' && rsp.ttl > 0 ? rsp.ttl : this.config.protectiveCacheTtl;
    const lifeMs = Math.min(ttl, this.config.maximumCacheTtl) * 1000;
    const now = Date.now();
    this.store(rsp.host, { context, expiresAt: now + lifeMs, vanishAt: now + lifeMs + this.config.cacheVanishWaitMs });
    q.resolve(context);
  }

  private store(host: string, r: CacheRecord): void {
    this.records.delete(host);
    if (this.records.size >= MAX_RECORDS) {
      const now = Date.now();
      for (const [k, old] of this.records) if (old.vanishAt <= now) this.records.delete(k);
      // still full: the oldest insertion goes (Map keeps insertion order)
      const first = this.records.keys().next();
      if (this.records.size >= MAX_RECORDS && !first.done) this.records.delete(first.value);
    }
    this.records.set(host, r);
  }
}

/** cert: PEM chain; key: PEM text or DER (PKCS#8, SEC1 or PKCS#1), as the protocol allows. */
function secureContextOf(cert: unknown, key: unknown): SecureContext {
  if (typeof cert !== 'string' || !cert.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate');
  let keyPem: string;
  if (typeof key === 'string') keyPem = key;
  else if (key instanceof Uint8Array) keyPem = derKeyToPem(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
  else throw new Error('no private key');
  return createSecureContext({ cert, key: keyPem });
}

function derKeyToPem(der: Buffer): string {
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type }).export({ type: 'pkcs8', format: 'pem' }) as string;
    } catch {
      // try the next encoding
    }
  }
  throw new Error('private key DER is neither PKCS#8, SEC1 nor PKCS#1');
}

/** A msgpack map with integer keys (@msgpack/msgpack encodes only string-keyed objects as maps). */
function encodeIdMap(entries: ReadonlyArray<readonly [number, unknown]>): Buffer {
  const parts: Uint8Array[] = [Uint8Array.of(0x80 | entries.length)];
  for (const [k, v] of entries) parts.push(encode(k), encode(v));
  return Buffer.concat(parts);
}
