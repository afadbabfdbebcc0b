/**
 * Ports in front of another server (plain_tcp_port, plain_tls_port, native_tls_port): accept on their own
 * listener, apply their own ingress filter to the real peer, read an optional PROXY header, optionally
 * terminate TLS, then hand the socket to the named server with the client address the PROXY header gave.
 */
import type { Socket } from 'node:net';
import { parseDuration, parseProxyProtocolVersion } from '@sluice/common';
import type { ParseContext } from '../runtime/object-def.js';
import type { Runtime } from '../runtime/runtime.js';
import { g3, str } from '../runtime/schema-util.js';
import { parseTlsServer, tlsField, type TlsServerConfig } from '../tls/tls-config.js';
import { parseTlsTicketer, type TlsTicketerConfig } from '../tls/ticketer-config.js';
import { reconcileTicketer, type RollingTicketer } from '../tls/ticketer.js';
import { ListeningServer, type AliveWork, type ListeningServerConfig } from './base-server.js';
import { acceptTls, applyProxyHeader, readProxyProtocol } from './ingress-prelude.js';
import { listeningServerFields, parseListeningServerBase } from './server-config.js';
import type { ClientInfo } from './types.js';

export interface PortConfig extends ListeningServerConfig {
  server: string;
  /** 0: none */
  proxyProtocol: 0 | 1 | 2;
  proxyProtocolReadTimeoutMs: number;
  tls: TlsServerConfig | undefined;
  /** tls_ticketer (TLS ports only) */
  tlsTicketer?: TlsTicketerConfig | undefined;
}

export const proxyProtocolField = g3('proxy_protocol', 'Expect a PROXY protocol header of this version (1 or 2) before anything else; the server behind sees the client address it names.');

export const portFields = {
  listen: listeningServerFields.listen,
  ingress_network_filter: listeningServerFields.ingress_network_filter,
  server: str('The server that receives the accepted connections (required).'),
  proxy_protocol: proxyProtocolField,
  proxy_protocol_read_timeout: g3('duration', 'Time allowed to receive the PROXY protocol header (default 5s).'),
};

export function parseOptionalProxyProtocol(v: unknown): 0 | 1 | 2 {
  return v === undefined || v === null ? 0 : parseProxyProtocolVersion(v);
}

export function parsePortConfig(v: Record<string, unknown>, ctx: ParseContext, type: string, withTls: boolean): PortConfig {
  const base = parseListeningServerBase(v, ctx, type);
  if (!base.listen) ctx.fail(['listen'], `${type} needs listen`);
  let tls: TlsServerConfig | undefined;
  if (withTls) {
    if (v.tls_server === undefined) ctx.fail(['tls_server'], `${type} needs tls_server`);
    tls = parseTlsServer(v.tls_server, ctx.baseDir);
  }
  const tlsTicketer = withTls && v.tls_ticketer !== undefined ? parseTlsTicketer(v.tls_ticketer, ctx.baseDir) : undefined;
  return Object.freeze({
    ...base,
    server: v.server as string,
    proxyProtocol: parseOptionalProxyProtocol(v.proxy_protocol),
    proxyProtocolReadTimeoutMs: v.proxy_protocol_read_timeout === undefined ? 5000 : parseDuration(v.proxy_protocol_read_timeout),
    tls,
    tlsTicketer,
  });
}

export const tlsServerField = tlsField('TLS server config: certificate + private_key (or cert_pairs), enable_client_auth + ca_certificate for mTLS.');

/** A socket between accept and hand-over; dropped when the port closes. */
class PendingSocket implements AliveWork {
  readonly idle = true;
  constructor(readonly socket: Socket) {}
  abort(): void {
    this.socket.destroy();
  }
}

export class PortServer<Cfg extends PortConfig = PortConfig> extends ListeningServer<Cfg> {
  private ticketer: RollingTicketer | null = null;

  constructor(readonly logName: string, config: Cfg, runtime: Runtime) {
    super(config, runtime);
  }

  private readonly warn = (m: string): void => this.runtime.plog.warn(`server ${this.name}: ${m}`);

  override start(): void {
    super.start();
    this.ticketer = reconcileTicketer(this.ticketer, this.config.tlsTicketer, this.warn);
  }

  override reload(cfg: Cfg): void {
    super.reload(cfg);
    this.ticketer = reconcileTicketer(this.ticketer, cfg.tlsTicketer, this.warn);
  }

  override destroy(): void {
    super.destroy();
    this.ticketer?.close();
    this.ticketer = null;
  }

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    const pending = new PendingSocket(socket);
    this.track(pending);
    void this.prelude(socket, info).then(
      (r) => {
        this.untrack(pending);
        const next = this.runtime.server(this.config.server);
        if (!next || !next.online || r.socket.destroyed) {
          r.socket.destroy();
          return;
        }
        next.acceptSocket(r.socket, r.info);
      },
      () => {
        // a bad PROXY header, a failed handshake or a timeout: close silently, as g3 does
        this.untrack(pending);
        this.stats.listenDropped++;
        socket.destroy();
      },
    );
  }

  private async prelude(socket: Socket, info: ClientInfo): Promise<{ socket: Socket; info: ClientInfo }> {
    const c = this.config;
    if (c.proxyProtocol) info = applyProxyHeader(info, await readProxyProtocol(socket, c.proxyProtocol, c.proxyProtocolReadTimeoutMs));
    if (c.tls) return { socket: await acceptTls(socket, c.tls, this.ticketer), info: { ...info, tls: true } };
    return { socket, info };
  }
}
