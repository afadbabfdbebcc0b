import type { Socket } from 'node:net';
import type { BaseConfig, LiveObject } from '../runtime/object-def.js';
import type { ServerStats } from '../stat/server-stats.js';

/** Facts about an accepted client connection, possibly rewritten by a port in front (PROXY protocol, TLS). */
export interface ClientInfo {
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** `ip:port` strings for logs */
  clientAddr: string;
  serverAddr: string;
  /** set when a TLS port in front already terminated TLS */
  tls?: boolean;
}

export interface BoundAddress {
  address: string;
  port: number;
}

export interface Server<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  /** `server_type` in logs, e.g. `HttpProxy`. */
  readonly logName: string;
  readonly stats: ServerStats;
  readonly online: boolean;
  /** Take a client connection accepted by this server's own listener or by a port server in front of it. */
  acceptSocket(socket: Socket, info: ClientInfo): void;
  /** Addresses this server listens on (empty if it has no listener of its own). */
  listening(): BoundAddress[];
  /** Stop accepting; live tasks continue. */
  offline(): Promise<void>;
}
