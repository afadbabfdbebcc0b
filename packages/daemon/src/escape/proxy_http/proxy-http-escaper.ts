/**
 * `proxy_http` / `proxy_https`: chain through an HTTP proxy (over TLS for proxy_https). TCP tasks use CONNECT;
 * plain HTTP forwarding sends absolute-form requests to the proxy with Proxy-Authorization; https forwarding goes
 * through a CONNECT tunnel with TLS to the origin done here, unless http_forward_capability.forward_https lets the
 * next proxy do it.
 */
import type { ConnectionOptions } from 'node:tls';
import { toSluiceError, type UpstreamAddr } from '@sluice/common';
import type { Runtime } from '../../runtime/runtime.js';
import { formatUpstream, type TaskContext, type Upstream } from '../../task/task.js';
import { logEscapeError } from '../escape-log.js';
import type { Picker } from '../pick/index.js';
import { connectPeer, peerCredentials, peerPicker, withNegotiationTimeout } from '../proxy-peer.js';
import { tlsUpgrade } from '../tls-upgrade.js';
import { newEscaperStats, type Escaper, type EscaperStats, type HttpForwardConnection, type TcpConnection } from '../types.js';
import type { ProxyHttpConfig } from './config.js';
import { basicAuth, httpConnect } from './connect-client.js';

export class ProxyHttpEscaper implements Escaper<ProxyHttpConfig> {
  readonly stats: EscaperStats;
  private readonly logNameOverride: string | undefined;
  private picker: Picker<UpstreamAddr>;
  private auth: string | undefined;

  /** `opts` lets proxy_float run a peer with its own stats and log name. */
  constructor(public config: ProxyHttpConfig, private readonly runtime: Runtime, opts: { stats?: EscaperStats; logName?: string } = {}) {
    this.stats = opts.stats ?? newEscaperStats();
    this.logNameOverride = opts.logName;
    this.picker = peerPicker(config);
    this.auth = config.username === undefined ? undefined : basicAuth(config.username, config.password);
  }

  get logName(): string {
    if (this.logNameOverride) return this.logNameOverride;
    return this.config.type === 'proxy_https' ? 'ProxyHttps' : 'ProxyHttp';
  }

  get name(): string {
    return this.config.name;
  }

  reload(cfg: ProxyHttpConfig): void {
    this.config = cfg;
    this.picker = peerPicker(cfg);
    this.auth = cfg.username === undefined ? undefined : basicAuth(cfg.username, cfg.password);
  }

  private authFor(task: TaskContext): string | undefined {
    if (!this.config.passProxyUserid) return this.auth;
    const c = peerCredentials(this.config, task);
    return c ? basicAuth(c.username, c.password) : undefined;
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: AbortSignal): Promise<TcpConnection> {
    const c = await connectPeer(this.runtime, this, this.config, this.picker, task, upstream, signal);
    try {
      await withNegotiationTimeout(c.socket, this.config.negotiationTimeoutMs, signal,
        () => httpConnect(c.socket, formatUpstream(upstream), this.authFor(task), this.config.connectRspHeaderMaxSize));
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

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: AbortSignal): Promise<HttpForwardConnection> {
    if (tls && !this.config.capability.forwardHttps) {
      // https through a tunnel: CONNECT, then TLS with the origin from here
      const c = await this.tcpConnect(task, upstream, signal);
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
    const c = await connectPeer(this.runtime, this, this.config, this.picker, task, upstream, signal);
    this.stats.connEstablish++;
    const auth = this.authFor(task);
    return {
      socket: c.socket,
      info: c.info,
      absoluteForm: true,
      extraHeaders: auth ? [['Proxy-Authorization', auth]] : [],
      // requests to any origin may share a connection to the same next proxy, but keep auth apart
      poolKey: `${this.name}|${tls ? 's' : ''}|${c.info.nextPeerAddr ?? ''}|${upstream.host}|${upstream.port}`,
    };
  }

  async close(): Promise<void> {}
  destroy(): void {}
}
