/** The `tcp_stream` server (g3's TcpStream): maps a local TCP port to one of a fixed list of upstreams. */
import type { Socket } from 'node:net';
import type { ClientInfo } from '../types.js';
import type { TcpStreamConfig } from './config.js';
import { StreamServer, type StreamTarget } from './stream-server.js';
import type { StreamUpstreamConfig } from './stream-config.js';

/** The upstream for a client: picked from the list (hash policies key on the client IP), with its TLS name. */
export function pickTarget(c: StreamUpstreamConfig, info: ClientInfo): StreamTarget {
  const u = c.upstreams.pick(info.clientIp);
  return {
    upstream: { host: u.host, port: u.port, ipFamily: u.ipFamily },
    tls: c.tlsClient ? { config: c.tlsClient, name: c.upstreamTlsName ?? u.host } : undefined,
  };
}

export class TcpStreamServer extends StreamServer<TcpStreamConfig> {
  readonly logName = 'TcpStream';

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    this.runStream(socket, info, this.newTask(info), pickTarget(this.config, info));
  }
}
