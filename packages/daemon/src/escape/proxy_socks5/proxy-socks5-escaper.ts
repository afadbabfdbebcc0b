/**
 * `proxy_socks5` / `proxy_socks5s`: chain through a SOCKS5 proxy (over TLS for socks5s). TCP tasks and HTTP
 * forwarding both use CONNECT; https forwarding does TLS with the origin over the tunnel.
 */
import type { ConnectionOptions } from 'node:tls';
import { toSluiceError, type UpstreamAddr } from '@sluice/common';
import type { Runtime } from '../../runtime/runtime.js';
import { formatUpstream, type TaskContext, type Upstream } from '../../task/task.js';
import { logEscapeError } from '../escape-log.js';
import type { Picker } from '../pick/index.js';
import { connectPeer, peerCredentials, peerPicker, withNegotiationTimeout } from '../proxy-peer.js';
import { tlsUpgrade } from '../tls-upgrade.js';
import {
  newEscaperStats, type Escaper, type EscaperStats, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from '../types.js';
import { relayTarget, Socks5UdpRelay } from './udp.js';
import type { ProxySocks5Config } from './config.js';
import { socks5Command, socks5Greet } from './socks5-client.js';

export class ProxySocks5Escaper implements Escaper<ProxySocks5Config> {
  readonly stats: EscaperStats;
  private readonly logNameOverride: string | undefined;
  private picker: Picker<UpstreamAddr>;

  /** `opts` lets proxy_float run a peer with its own stats and log name. */
  constructor(public config: ProxySocks5Config, private readonly runtime: Runtime, opts: { stats?: EscaperStats; logName?: string } = {}) {
    this.stats = opts.stats ?? newEscaperStats();
    this.logNameOverride = opts.logName;
    this.picker = peerPicker(config);
  }

  get logName(): string {
    if (this.logNameOverride) return this.logNameOverride;
    return this.config.type === 'proxy_socks5s' ? 'ProxySocks5s' : 'ProxySocks5';
  }

  get name(): string {
    return this.config.name;
  }

  reload(cfg: ProxySocks5Config): void {
    this.config = cfg;
    this.picker = peerPicker(cfg);
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: AbortSignal): Promise<TcpConnection> {
    const c = await connectPeer(this.runtime, this, this.config, this.picker, task, upstream, signal);
    try {
      await withNegotiationTimeout(c.socket, this.config.negotiationTimeoutMs, signal, async () => {
        await socks5Greet(c.socket, peerCredentials(this.config, task));
        await socks5Command(c.socket, 1, upstream.host, upstream.port);
      });
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_NOT_NEGOTIATED');
      if (err.code !== 'CLIENT_CLOSED_EARLY') {
        logEscapeError(this.runtime, this, 'TcpConnect', task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
      }
      throw err;
    }
    this.stats.connEstablish++;
    return { socket: c.socket, info: c.info };
  }

  /** UDP ASSOCIATE on a fresh control connection; the relay socket speaks the SOCKS UDP header. */
  private async associate(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: AbortSignal): Promise<Socks5UdpRelay> {
    const c = await connectPeer(this.runtime, this, this.config, this.picker, task, upstream, signal);
    let bound: { host: string; port: number };
    try {
      bound = await withNegotiationTimeout(c.socket, this.config.negotiationTimeoutMs, signal, async () => {
        await socks5Greet(c.socket, peerCredentials(this.config, task));
        // we do not know our UDP source yet: 0.0.0.0:0 asks the peer to accept any (RFC 1928 §6)
        return socks5Command(c.socket, 3, '0.0.0.0', 0);
      });
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_NOT_NEGOTIATED');
      if (err.code !== 'CLIENT_CLOSED_EARLY') {
        logEscapeError(this.runtime, this, 'UdpSendto', task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
      }
      throw err;
    }
    const relay = relayTarget(bound, c.socket, this.config);
    this.stats.connEstablish++;
    return Socks5UdpRelay.open(c.socket, relay.host, relay.port, receiver, this.name, this.config.endOnControlClosed);
  }

  async udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: AbortSignal): Promise<UdpConnectSocket> {
    return (await this.associate(task, upstream, receiver, signal)).fixDestination(upstream);
  }

  async udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: AbortSignal): Promise<UdpRelaySocket> {
    return this.associate(task, { host: '0.0.0.0', port: 0, ipFamily: 4 }, receiver, signal);
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: AbortSignal): Promise<HttpForwardConnection> {
    const c = await this.tcpConnect(task, upstream, signal);
    if (!tls) return { socket: c.socket, info: c.info, absoluteForm: false, extraHeaders: [], poolKey: `${this.name}||${upstream.host}|${upstream.port}` };
    try {
      const socket = await tlsUpgrade(c.socket, upstream.host, tls, signal);
      this.stats.tlsHandshakeSuccess++;
      return { socket, info: c.info, absoluteForm: false, extraHeaders: [], poolKey: `${this.name}|s|${upstream.host}|${upstream.port}` };
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_TLS_HANDSHAKE_FAILED');
      if (err.code === 'UPSTREAM_TLS_HANDSHAKE_TIMEOUT') this.stats.tlsHandshakeTimeout++;
      else this.stats.tlsHandshakeError++;
      logEscapeError(this.runtime, this, 'TlsHandshake', task, [['upstream', formatUpstream(upstream)], ['tls_name', upstream.host]], err);
      throw err;
    }
  }

  async close(): Promise<void> {}
  destroy(): void {}
}
