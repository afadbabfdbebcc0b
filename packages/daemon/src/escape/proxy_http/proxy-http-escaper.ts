/**
 * `proxy_http` / `proxy_https`: chain through an HTTP proxy (over TLS for proxy_https). TCP tasks use CONNECT;
 * plain HTTP forwarding sends absolute-form requests to the proxy with Proxy-Authorization; https forwarding goes
 * through a CONNECT tunnel with TLS to the origin done here, unless http_forward_capability.forward_https lets the
 * next proxy do it.
 */
import type { ConnectionOptions } from 'node:tls';
import { formatUpstream, type TaskContext, type Upstream } from '../../task/task.js';
import { peerCredentials } from '../proxy-peer.js';
import { ProxyPeerEscaper, type PeerEscaperOptions } from '../proxy-peer-escaper.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { HttpForwardConnection, TcpConnection } from '../types.js';
import type { ProxyHttpConfig } from './config.js';
import { basicAuth, httpConnect } from './connect-client.js';
import type { CancelSignal } from '../../runtime/cancel.js';

function configuredAuth(cfg: ProxyHttpConfig): string | undefined {
  return cfg.username === undefined ? undefined : basicAuth(cfg.username, cfg.password);
}

export class ProxyHttpEscaper extends ProxyPeerEscaper<ProxyHttpConfig> {
  /** Proxy-Authorization for the configured credentials, made once per config */
  private auth: string | undefined;

  constructor(config: ProxyHttpConfig, runtime: Runtime, opts?: PeerEscaperOptions) {
    super(config, runtime, opts);
    this.auth = configuredAuth(config);
  }

  protected typeLogName(): string {
    return this.config.type === 'proxy_https' ? 'ProxyHttps' : 'ProxyHttp';
  }

  override reload(cfg: ProxyHttpConfig): void {
    super.reload(cfg);
    this.auth = configuredAuth(cfg);
  }

  private authFor(task: TaskContext): string | undefined {
    if (!this.config.passProxyUserid) return this.auth;
    const c = peerCredentials(this.config, task);
    return c ? basicAuth(c.username, c.password) : undefined;
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    const c = await this.connectPeer(task, upstream, signal);
    await this.negotiate(c, task, upstream, signal, 'TcpConnect',
      () => httpConnect(c.socket, formatUpstream(upstream), this.authFor(task), this.config.connectRspHeaderMaxSize));
    this.stats.connEstablish++;
    return { socket: c.socket, info: c.info };
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    if (tls && !this.config.capability.forwardHttps) return this.tlsThroughTunnel(task, upstream, tls, signal);
    const c = await this.connectPeer(task, upstream, signal);
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
}
