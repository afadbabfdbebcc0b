/**
 * The class the chaining escapers extend (proxy_http/https, proxy_socks5/socks5s): config and peer picker kept
 * together across reloads, the next-proxy connection, the handshake under peer_negotiation_timeout with g3's
 * Escape log on failure, and TLS with the origin through an established tunnel (https forwarding).
 */
import type { ConnectionOptions } from 'node:tls';
import { toSluiceError, type UpstreamAddr } from '@sluice/common';
import type { Runtime } from '../runtime/runtime.js';
import { formatUpstream, type TaskContext, type Upstream } from '../task/task.js';
import { logEscapeError } from './escape-log.js';
import type { Picker } from './pick/index.js';
import { connectPeer, peerPicker, withNegotiationTimeout, type PeerConnection, type ProxyPeerConfig } from './proxy-peer.js';
import { tlsUpgrade } from './tls-upgrade.js';
import { newEscaperStats, type Escaper, type EscaperStats, type HttpForwardConnection, type TcpConnection } from './types.js';
import type { CancelSignal } from '../runtime/cancel.js';

/** Lets proxy_float run a peer under its own stats and log name. */
export interface PeerEscaperOptions {
  stats?: EscaperStats;
  logName?: string;
}

export abstract class ProxyPeerEscaper<Cfg extends ProxyPeerConfig> implements Escaper<Cfg> {
  readonly stats: EscaperStats;
  private readonly logNameOverride: string | undefined;
  protected picker: Picker<UpstreamAddr>;

  constructor(public config: Cfg, protected readonly runtime: Runtime, opts: PeerEscaperOptions = {}) {
    this.stats = opts.stats ?? newEscaperStats();
    this.logNameOverride = opts.logName;
    this.picker = peerPicker(config);
  }

  /** `escaper_type` of the config's own type (ProxyHttps for proxy_https...). */
  protected abstract typeLogName(): string;

  get logName(): string {
    return this.logNameOverride ?? this.typeLogName();
  }

  get name(): string {
    return this.config.name;
  }

  reload(cfg: Cfg): void {
    this.config = cfg;
    this.picker = peerPicker(cfg);
  }

  protected connectPeer(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<PeerConnection> {
    return connectPeer(this.runtime, this, this.config, this.picker, task, upstream, signal);
  }

  /**
   * Runs a handshake with the next proxy under peer_negotiation_timeout. On failure the socket is gone and the
   * Escape log says why (`escapeType` TcpConnect for tunnels, UdpSendto for UDP associations).
   */
  protected async negotiate<T>(c: PeerConnection, task: TaskContext, upstream: Upstream, signal: CancelSignal,
    escapeType: 'TcpConnect' | 'UdpSendto', run: () => Promise<T>): Promise<T> {
    try {
      return await withNegotiationTimeout(c.socket, this.config.negotiationTimeoutMs, signal, run);
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_NOT_NEGOTIATED');
      if (err.code !== 'CLIENT_CLOSED_EARLY') {
        logEscapeError(this.runtime, this, escapeType, task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
      }
      throw err;
    }
  }

  abstract tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection>;
  abstract httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection>;

  /** https forwarding through a tunnel: a tunnel to the origin, then TLS with the origin from here. */
  protected async tlsThroughTunnel(task: TaskContext, upstream: Upstream, tls: ConnectionOptions, signal: CancelSignal): Promise<HttpForwardConnection> {
    const c = await this.tcpConnect(task, upstream, signal);
    try {
      const socket = await tlsUpgrade(c.socket, upstream.host, tls, signal);
      this.stats.tlsHandshakeSuccess++;
      return { socket, info: c.info, absoluteForm: false, extraHeaders: [], poolKey: `${this.name}|s|${upstream.host}|${upstream.port}` };
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_TLS_HANDSHAKE_FAILED');
      if (err.code === 'UPSTREAM_TLS_HANDSHAKE_TIMEOUT') this.stats.tlsHandshakeTimeout++;
      else this.stats.tlsHandshakeError++;
      if (err.code !== 'CLIENT_CLOSED_EARLY') {
        logEscapeError(this.runtime, this, 'TlsHandshake', task, [['upstream', formatUpstream(upstream)], ['tls_name', upstream.host]], err);
      }
      throw err;
    }
  }

  async close(): Promise<void> {}
  destroy(): void {}
}
