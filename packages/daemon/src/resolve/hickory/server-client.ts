/**
 * Queries to one DNS server over the configured transport, with `each_tries` attempts of `request_timeout`
 * each. Plain DNS goes over UDP and is asked again over TCP when the answer is truncated; dns-over-tls and
 * dns-over-https keep one connection open for reuse and reconnect when it has gone.
 */
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { encodeQuery, type DnsMessage } from '@sluice/protocol';
import { describeTarget, openStream, type StreamTarget } from './connect.js';
import { DohSession } from './doh.js';
import { ExchangeError } from './exchange-error.js';
import type { HickoryConfig } from './config.js';
import { StreamSession } from './stream.js';
import { udpExchange, type UdpTarget } from './udp.js';

/** the UDP payload size advertised with EDNS(0): the DNS flag day 2020 value, which avoids IP fragmentation */
const EDNS_UDP_SIZE = 1232;
/** a reused TLS / HTTP/2 connection is closed after this long without queries */
const IDLE_MS = 30_000;

export class ServerClient {
  readonly label: string;
  private readonly udp: UdpTarget;
  private readonly stream: StreamTarget;
  private session: StreamSession | DohSession | null = null;
  private opening: Promise<StreamSession | DohSession> | null = null;
  private readonly authority: string;

  constructor(readonly ip: string, private readonly cfg: HickoryConfig, private readonly signal: AbortSignal) {
    const enc = cfg.encryption;
    this.udp = { ip, port: cfg.serverPort, bindIp: cfg.bindIp };
    this.stream = {
      ip,
      port: cfg.serverPort,
      bindIp: cfg.bindIp,
      connectTimeoutMs: cfg.connectTimeoutMs,
      tls: enc && {
        name: enc.tlsName,
        options: enc.tlsClient.options,
        handshakeTimeoutMs: enc.tlsClient.handshakeTimeoutMs,
        disableSni: enc.tlsClient.disableSni,
        ...(enc.protocol === 'https' ? { alpn: ['h2'] } : {}),
      },
    };
    const host = enc ? (isIP(enc.tlsName) === 6 ? `[${enc.tlsName}]` : enc.tlsName) : ip;
    this.authority = cfg.serverPort === 443 ? host : `${host}:${cfg.serverPort}`;
    this.label = `${isIP(ip) === 6 ? `[${ip}]` : ip}:${cfg.serverPort}`;
  }

  /** The server's answer (any rcode), or the last attempt's ExchangeError. */
  async query(name: string, type: number): Promise<DnsMessage> {
    let last: unknown;
    for (let attempt = 0; attempt < this.cfg.eachTries; attempt++) {
      if (this.signal.aborted) throw new ExchangeError('closed', 'resolver closed');
      try {
        return await this.attempt(name, type);
      } catch (e) {
        last = e;
        // an answer that does not parse will not parse next time either
        if (e instanceof ExchangeError && e.kind === 'malformed') break;
      }
    }
    throw last;
  }

  private async attempt(name: string, type: number): Promise<DnsMessage> {
    const timeout = this.cfg.requestTimeoutMs;
    const enc = this.cfg.encryption;
    if (!enc) {
      const id = randomInt(0x10000);
      const r = await udpExchange(this.udp, encodeQuery(id, name, type, { ednsUdpSize: EDNS_UDP_SIZE }), id, name, type, timeout, this.signal);
      if (r !== 'truncated') return r;
      return this.overTcp(name, type);
    }
    const s = await this.reusable();
    if (s instanceof DohSession) return s.request(encodeQuery(0, name, type, { ednsUdpSize: 0 }), name, type, timeout);
    const id = s.freeId();
    return s.request(encodeQuery(id, name, type), id, name, type, timeout);
  }

  /** The truncated UDP query again on a connection of its own (RFC 7766), closed after the answer. */
  private async overTcp(name: string, type: number): Promise<DnsMessage> {
    const sock = await openStream(this.stream, this.signal);
    const s = new StreamSession(sock, describeTarget(this.stream), this.cfg.requestTimeoutMs);
    try {
      const id = s.freeId();
      return await s.request(encodeQuery(id, name, type), id, name, type, this.cfg.requestTimeoutMs);
    } finally {
      s.close();
    }
  }

  private reusable(): Promise<StreamSession | DohSession> {
    if (this.session?.usable) return Promise.resolve(this.session);
    // concurrent queries share one connect instead of racing several
    if (!this.opening) {
      this.opening = openStream(this.stream, this.signal).then((sock) => {
        const what = describeTarget(this.stream);
        const s = this.cfg.encryption!.protocol === 'https'
          ? new DohSession(sock as TLSSocket, this.authority, `https ${this.label}`, IDLE_MS)
          : new StreamSession(sock, what, IDLE_MS);
        this.session = s;
        if (this.signal.aborted) s.close();
        return s;
      }).finally(() => {
        this.opening = null;
      });
    }
    return this.opening;
  }

  close(): void {
    this.session?.close();
    this.session = null;
  }
}
