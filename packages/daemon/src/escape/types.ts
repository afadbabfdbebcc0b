import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { BaseConfig, LiveObject } from '../runtime/object-def.js';
import type { TaskContext, Upstream } from '../task/task.js';

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
  tlsHandshakeSuccess: number;
  tlsHandshakeError: number;
  tlsHandshakeTimeout: number;
  /** route escapers: a next escaper was selected / none could be */
  routePassed: number;
  routeFailed: number;
  inBytes: number;
  outBytes: number;
}

export function newEscaperStats(): EscaperStats {
  return {
    taskTotal: 0, connAttempt: 0, connEstablish: 0, tcpConnectAttempt: 0, tcpConnectEstablish: 0,
    tcpConnectSuccess: 0, tcpConnectError: 0, tcpConnectTimeout: 0, forbiddenIpBlocked: 0, tlsHandshakeSuccess: 0, tlsHandshakeError: 0, tlsHandshakeTimeout: 0,
    routePassed: 0, routeFailed: 0, inBytes: 0, outBytes: 0,
  };
}

export interface Escaper<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  /** `escaper_type` in logs, e.g. `DirectFixed`. */
  readonly logName: string;
  readonly stats: EscaperStats;
  /** Open a TCP stream to `upstream` (CONNECT, SOCKS connect, stream servers). Rejects with a SluiceError. */
  tcpConnect(task: TaskContext, upstream: Upstream, signal: AbortSignal): Promise<TcpConnection>;
  /**
   * A connection to send HTTP requests for `upstream` on. With `tls` (the server's TLS client options) the
   * escaper gives a TLS stream to the origin (https forward) unless it chains through a proxy that forwards
   * https itself.
   */
  httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: AbortSignal): Promise<HttpForwardConnection>;
  /** Float escapers: take peers / bind addresses published over the control socket (parsed JSON). */
  publish?(data: unknown): Promise<void>;
}

/** g3's metric names for an escaper's counters (`route.request.*` only for route escapers). */
export function escaperMetrics(s: EscaperStats, isRoute: boolean): Array<[string, number]> {
  const out: Array<[string, number]> = [
    ['escaper.task.total', s.taskTotal],
    ['escaper.connection.attempt', s.connAttempt],
    ['escaper.connection.establish', s.connEstablish],
    ['escaper.tcp.connect.attempt', s.tcpConnectAttempt],
    ['escaper.tcp.connect.establish', s.tcpConnectEstablish],
    ['escaper.tcp.connect.success', s.tcpConnectSuccess],
    ['escaper.tcp.connect.error', s.tcpConnectError],
    ['escaper.tcp.connect.timeout', s.tcpConnectTimeout],
    ['escaper.tls.handshake.success', s.tlsHandshakeSuccess],
    ['escaper.tls.handshake.error', s.tlsHandshakeError],
    ['escaper.tls.handshake.timeout', s.tlsHandshakeTimeout],
    ['escaper.forbidden.ip_blocked', s.forbiddenIpBlocked],
    ['escaper.traffic.in.bytes', s.inBytes],
    ['escaper.traffic.out.bytes', s.outBytes],
  ];
  if (isRoute) out.push(['route.request.passed', s.routePassed], ['route.request.failed', s.routeFailed]);
  return out;
}
