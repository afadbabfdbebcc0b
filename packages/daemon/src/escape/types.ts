import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { BaseConfig, LiveObject } from '../runtime/object-def.js';
import type { SluiceError } from '@sluice/common';
import type { TaskContext, Upstream } from '../task/task.js';
import type { CancelSignal } from '../runtime/cancel.js';

/** What an escaper reports about the connection it made, for the task log (`next_*`, `tcp_connect_*`). */
export interface ConnectInfo {
  nextBindIp?: string;
  nextBoundAddr?: string;
  nextPeerAddr?: string;
  tcpConnectTries: number;
  tcpConnectSpendMs: number;
  /** The escaper that really made the connection (a route escaper reports its chosen leaf). */
  escaper: string;
}

export interface TcpConnection {
  socket: Socket;
  info: ConnectInfo;
}

/** A connection on which HTTP requests for `upstream` can be written. */
export interface HttpForwardConnection extends TcpConnection {
  /** true when requests must be written in absolute-form (the next hop is an HTTP proxy). */
  absoluteForm: boolean;
  /** Extra header lines for every request on this connection (e.g. Proxy-Authorization to the next proxy). */
  extraHeaders: ReadonlyArray<readonly [string, string]>;
  /** Identifies where this connection goes, so a kept-alive one is reused only for the same destination. */
  poolKey: string;
}

export interface EscaperStats {
  taskTotal: number;
  connAttempt: number;
  connEstablish: number;
  tcpConnectAttempt: number;
  tcpConnectEstablish: number;
  tcpConnectSuccess: number;
  tcpConnectError: number;
  tcpConnectTimeout: number;
  forbiddenIpBlocked: number;
  /** TLS to the next hop (https forward, proxy_https...) */
  tlsHandshakeSuccess: number;
  tlsHandshakeError: number;
  tlsHandshakeTimeout: number;
  tlsPeerOrderlyClosure: number;
  tlsPeerAbortiveClosure: number;
  /** TCP bytes, TLS included */
  inBytes: number;
  outBytes: number;
  /** UDP (socks udp associate / connect) */
  udpInBytes: number;
  udpInPackets: number;
  udpOutBytes: number;
  udpOutPackets: number;
}

export function newEscaperStats(): EscaperStats {
  return {
    taskTotal: 0, connAttempt: 0, connEstablish: 0, tcpConnectAttempt: 0, tcpConnectEstablish: 0,
    tcpConnectSuccess: 0, tcpConnectError: 0, tcpConnectTimeout: 0, forbiddenIpBlocked: 0,
    tlsHandshakeSuccess: 0, tlsHandshakeError: 0, tlsHandshakeTimeout: 0, tlsPeerOrderlyClosure: 0, tlsPeerAbortiveClosure: 0,
    inBytes: 0, outBytes: 0, udpInBytes: 0, udpInPackets: 0, udpOutBytes: 0, udpOutPackets: 0,
  };
}

export interface Escaper<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  /** `escaper_type` in logs, e.g. `DirectFixed`. */
  readonly logName: string;
  readonly stats: EscaperStats;
  /** Open a TCP stream to `upstream` (CONNECT, SOCKS connect, stream servers). Rejects with a SluiceError. */
  tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection>;
  /**
   * A connection to send HTTP requests for `upstream` on. With `tls` (the server's TLS client options) the
   * escaper gives a TLS stream to the origin (https forward) unless it chains through a proxy that forwards
   * https itself.
   */
  httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection>;
  /**
   * UDP towards one fixed upstream (g3's "udp connect", the SOCKS server's default UDP mode). The upstream is
   * resolved through the escaper's resolver and checked against its egress filter once. Escapers that cannot
   * carry UDP leave this out; the server then answers "command not supported".
   */
  udpSetupConnection?(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket>;
  /**
   * UDP towards any destination, chosen per datagram (SOCKS5 UDP ASSOCIATE). Domains are resolved through the
   * escaper's resolver and every destination address is checked against the egress filter.
   */
  udpSetupRelay?(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket>;
  /** Float escapers: take peers / bind addresses published over the control socket (parsed JSON). */
  publish?(data: unknown): Promise<void>;
}

/**
 * Where an escaper's UDP socket delivers what upstreams send back. One long-lived object per task, so the
 * per-datagram path allocates no closures.
 */
export interface UdpUpstreamReceiver {
  onUpstreamPacket(data: Buffer, fromIp: string, fromPort: number): void;
  /** The socket failed or a send was refused (egress filter, resolution): the task ends with `err`. */
  onUpstreamError(err: SluiceError): void;
}

/** What an escaper reports about its UDP socket, for the task log (`next_*`). */
export interface UdpSocketInfo {
  nextBindIp?: string;
  nextBoundAddr?: string;
  /** UDP connect: the resolved peer */
  nextPeerAddr?: string;
  escaper: string;
}

/** UDP to one fixed upstream. */
export interface UdpConnectSocket {
  readonly info: UdpSocketInfo;
  send(data: Uint8Array): void;
  close(): void;
}

/** UDP to any destination. */
export interface UdpRelaySocket {
  readonly info: UdpSocketInfo;
  /** Sends one datagram; a refused destination is reported through the receiver's onUpstreamError. */
  send(dest: Upstream, data: Uint8Array): void;
  close(): void;
}
