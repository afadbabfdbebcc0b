/**
 * The UDP frontend: one request per datagram, one response datagram back to the sender. Issued certificates
 * are cached per (host, service, usage) for the ttl they were announced with, and concurrent requests for the
 * same key share one issuance. A datagram that does not decode is dropped with a log line, never answered.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { CertIssuer } from './issuer.js';
import { decodeRequest, encodeResponse, serviceName, usageName, type CertRequest } from './protocol.js';

export interface CertgenServerOptions {
  issuer: CertIssuer;
  /** seconds; returned as `ttl` and used as the cache lifetime */
  ttl: number;
  /** brief stderr lines; verbose adds one per issued certificate */
  log: (line: string) => void;
  verbose?: boolean;
}

interface CacheEntry {
  expiresAt: number;
  cert: Promise<{ certChain: string; keyPem: string }>;
}

/** bound so a flood of distinct hosts cannot grow memory without limit */
const MAX_CACHE = 10_000;

export class CertgenServer {
  private sock?: Socket;
  private readonly cache = new Map<string, CacheEntry>();
  private dropped = 0;

  constructor(private readonly opts: CertgenServerOptions) {}

  async listen(host: string, port: number): Promise<{ address: string; port: number }> {
    const sock = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4' });
    this.sock = sock;
    sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo.address, rinfo.port));
    sock.on('error', (e) => this.opts.log(`socket error: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    const a = sock.address();
    return { address: a.address, port: a.port };
  }

  close(): void {
    this.sock?.close();
    this.sock = undefined;
    this.cache.clear();
  }

  private onMessage(msg: Buffer, addr: string, port: number): void {
    let req: CertRequest;
    try {
      req = decodeRequest(msg);
    } catch (e) {
      // rate of bad datagrams is unbounded: log the first few and then every 1000th
      this.dropped++;
      if (this.dropped <= 10 || this.dropped % 1000 === 0) this.opts.log(`drop bad request from ${addr}:${port} (${this.dropped} so far): ${(e as Error).message}`);
      return;
    }
    this.answer(req, addr, port).catch((e: Error) => this.opts.log(`cannot issue for ${req.host}: ${e.message}`));
  }

  private async answer(req: CertRequest, addr: string, port: number): Promise<void> {
    const key = `${req.host}\0${serviceName(req.service)}\0${usageName(req.usage)}`;
    const now = Date.now();
    let entry = this.cache.get(key);
    if (!entry || entry.expiresAt <= now) {
      if (this.cache.size >= MAX_CACHE) this.evictExpired(now);
      const cert = this.opts.issuer.issue(req.host, req.cert);
      entry = { expiresAt: now + this.opts.ttl * 1000, cert };
      this.cache.set(key, entry);
      // a failed issuance must not stay cached
      cert.catch(() => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      });
      if (this.opts.verbose) cert.then(() => this.opts.log(`issued ${req.host} (${serviceName(req.service)}/${usageName(req.usage)})`), () => {});
    }
    const issued = await entry.cert;
    // the remaining lifetime, so a proxy never caches past our own cache entry
    const ttl = Math.max(1, Math.floor((entry.expiresAt - Date.now()) / 1000));
    const out = encodeResponse({ host: req.host, service: req.service, usage: req.usage, cert: issued.certChain, key: issued.keyPem, ttl }, req.byId);
    this.sock?.send(out, port, addr);
  }

  private evictExpired(now: number): void {
    for (const [k, e] of this.cache) if (e.expiresAt <= now) this.cache.delete(k);
    // still full: drop the oldest insertions
    for (const k of this.cache.keys()) {
      if (this.cache.size < MAX_CACHE) break;
      this.cache.delete(k);
    }
  }
}
