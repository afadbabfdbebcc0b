/**
 * `proxy_socks5` / `proxy_socks5s`: chain through a SOCKS5 proxy (over TLS for socks5s). TCP tasks and HTTP
 * forwarding both use CONNECT; https forwarding does TLS with the origin over the tunnel; UDP goes through a
 * UDP ASSOCIATE with the peer.
 */
import type { ConnectionOptions } from 'node:tls';
import { CMD_CONNECT, CMD_UDP_ASSOCIATE } from '@sluice/protocol';
import type { TaskContext, Upstream } from '../../task/task.js';
import { peerCredentials } from '../proxy-peer.js';
import { ProxyPeerEscaper } from '../proxy-peer-escaper.js';
import type { HttpForwardConnection, TcpConnection, UdpConnectSocket, UdpRelaySocket, UdpUpstreamReceiver } from '../types.js';
import type { ProxySocks5Config } from './config.js';
import { socks5Command, socks5Greet } from './socks5-handshake.js';
import { relayTarget, Socks5UdpRelay } from './udp.js';
import type { CancelSignal } from '../../runtime/cancel.js';

/** A relay has no destination of its own; the association is made for any. */
const ANY_DESTINATION: Upstream = { host: '0.0.0.0', port: 0, ipFamily: 4 };

export class ProxySocks5Escaper extends ProxyPeerEscaper<ProxySocks5Config> {
  protected typeLogName(): string {
    return this.config.type === 'proxy_socks5s' ? 'ProxySocks5s' : 'ProxySocks5';
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    const c = await this.connectPeer(task, upstream, signal);
    await this.negotiate(c, task, upstream, signal, 'TcpConnect', async () => {
      await socks5Greet(c.socket, peerCredentials(this.config, task));
      await socks5Command(c.socket, CMD_CONNECT, upstream.host, upstream.port);
    });
    this.stats.connEstablish++;
    return { socket: c.socket, info: c.info };
  }

  /** UDP ASSOCIATE on a fresh control connection; the relay socket speaks the SOCKS UDP header. */
  private async associate(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<Socks5UdpRelay> {
    const c = await this.connectPeer(task, upstream, signal);
    const bound = await this.negotiate(c, task, upstream, signal, 'UdpSendto', async () => {
      await socks5Greet(c.socket, peerCredentials(this.config, task));
      // we do not know our UDP source yet: 0.0.0.0:0 asks the peer to accept any (RFC 1928 §6)
      return socks5Command(c.socket, CMD_UDP_ASSOCIATE, '0.0.0.0', 0);
    });
    const relay = relayTarget(bound, c.socket, this.config);
    this.stats.connEstablish++;
    return Socks5UdpRelay.open(c.socket, relay.host, relay.port, receiver, this.name, this.config.endOnControlClosed);
  }

  async udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    return (await this.associate(task, upstream, receiver, signal)).fixDestination(upstream);
  }

  async udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    return this.associate(task, ANY_DESTINATION, receiver, signal);
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    if (tls) return this.tlsThroughTunnel(task, upstream, tls, signal);
    const c = await this.tcpConnect(task, upstream, signal);
    return { socket: c.socket, info: c.info, absoluteForm: false, extraHeaders: [], poolKey: `${this.name}||${upstream.host}|${upstream.port}` };
  }
}
