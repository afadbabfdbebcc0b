/** The `http_proxy` server: an HTTP/1.x forward proxy (absolute-form forwarding and CONNECT tunnels). */
import type { Socket } from 'node:net';
import { EgressPathSelection } from '../../escape/egress-path.js';
import type { ConnectionOptions } from 'node:tls';
import { isForbidden, SluiceError, type ProxyRequestType } from '@sluice/common';
import type { RequestHead } from '@sluice/protocol';
import { authorizeHttpProxyRequest } from '../../auth/http-proxy-auth.js';
import type { AuthDenied } from '../../auth/server-auth.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import type { AliveWork } from '../base-server.js';
import { HttpServer } from '../http/server.js';
import { acceptTls } from '../ingress-prelude.js';
import { reconcileTicketer, type RollingTicketer } from '../../tls/ticketer.js';
import type { ClientInfo } from '../types.js';
import type { HttpProxyConfig } from './config.js';
import { HttpProxyConnection } from './connection.js';
import { errorResponse } from '../http/responses.js';
import { UpstreamPool } from './upstream-pool.js';

/** A client socket in its TLS handshake (HTTPS proxy); dropped when the server closes. */
class Handshaking implements AliveWork {
  readonly idle = true;
  constructor(readonly socket: Socket) {}
  abort(): void {
    this.socket.destroy();
  }
}

export class HttpProxyServer extends HttpServer<HttpProxyConfig> {
  readonly logName = 'HttpProxy';
  readonly pool: UpstreamPool;
  /** client connections held now (handshakes included) */
  clientConnections = 0;
  private tlsOptions: ConnectionOptions;
  /** tls_ticketer: session ticket keys of tls_server */
  private ticketer: RollingTicketer | null = null;

  constructor(config: HttpProxyConfig, runtime: Runtime) {
    super(config, runtime);
    this.pool = new UpstreamPool(this.poolSize(config), config.upstreamKeepAlive.idleMs);
    this.tlsOptions = tlsOptionsOf(config);
  }

  private poolSize(c: HttpProxyConfig): number {
    return c.upstreamKeepAlive.enable ? c.upstreamPoolMaxIdle : 0;
  }

  override start(): void {
    super.start();
    this.ticketer = reconcileTicketer(this.ticketer, this.ticketerConfig(this.config), this.warn);
  }

  private ticketerConfig(c: HttpProxyConfig) {
    // a ticketer without TLS has nothing to do (g3 accepts the key either way)
    return c.tlsServer ? c.tlsTicketer : undefined;
  }

  override reload(cfg: HttpProxyConfig): void {
    super.reload(cfg);
    this.ticketer = reconcileTicketer(this.ticketer, this.ticketerConfig(cfg), this.warn);
    this.pool.configure(this.poolSize(cfg), cfg.upstreamKeepAlive.idleMs);
    this.tlsOptions = tlsOptionsOf(cfg);
  }

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    if (this.clientConnections >= this.config.maxClientConnections) return this.refuseBusy(socket, info);
    this.clientConnections++;
    const tls = this.config.tlsServer;
    if (!tls || info.tls) return this.serve(socket, info);
    const hs = new Handshaking(socket);
    this.track(hs);
    acceptTls(socket, tls, this.ticketer).then(
      (t) => {
        this.untrack(hs);
        if (!this.online) {
          this.clientConnections--;
          t.destroy();
          return;
        }
        this.serve(t, { ...info, tls: true });
      },
      () => {
        // a failed handshake (bad or missing client certificate, plain HTTP on a TLS port) closes silently
        this.untrack(hs);
        this.clientConnections--;
        this.stats.listenDropped++;
      },
    );
  }

  private serve(socket: Socket, info: ClientInfo): void {
    const c = new HttpProxyConnection(this, socket, info);
    this.track(c);
    c.start();
  }

  /** Over max_client_connections: answer 503 and close (a TLS client just gets closed), logged as a task. */
  private refuseBusy(socket: Socket, info: ClientInfo): void {
    this.stats.listenDropped++;
    const task = this.newHttpTask({ info });
    task.error = new SluiceError('SERVER_BUSY', `more than ${this.config.maxClientConnections} client connections`);
    socket.on('error', () => socket.destroy());
    if (this.config.tlsServer && !info.tls) socket.destroy();
    else {
      const res = errorResponse(503, true);
      task.rspStatus = 503;
      task.cWrBytes = res.length;
      socket.end(res);
      setTimeout(() => socket.destroy(), 2000).unref();
    }
    this.endTask(task);
  }

  connectionClosed(c: HttpProxyConnection): void {
    this.clientConnections--;
    this.untrack(c);
  }

  /** TLS client options for https forwarding (from `tls_client`). */
  tlsClient(): ConnectionOptions {
    return this.tlsOptions;
  }

  /** The user auth step (auth/ owns it): null when the request may go on. */
  authorize(c: HttpProxyConnection, req: RequestHead, task: TaskContext, type: ProxyRequestType, upstream: Upstream): AuthDenied | null | Promise<AuthDenied | null> {
    return authorizeHttpProxyRequest(this.runtime, c, req, task, type, upstream);
  }

  /**
   * g3's egress_path_selection_header: a number in the header selects the egress path for the server's escaper.
   * Returns the error to answer 400 with when the value is not a number.
   */
  selectEgressPath(req: RequestHead, task: TaskContext): SluiceError | null {
    const name = this.config.egressPathHeader;
    if (!name) return null;
    for (const h of req.headers) {
      if (h.lname !== name) continue;
      if (!/^\d{1,9}$/.test(h.value)) return new SluiceError('CLIENT_PROTOCOL_INVALID', `invalid egress path id '${h.value.slice(0, 32)}' in ${h.name}`);
      // a user's egress_path_id_map stands in for the header (g3), whichever was read first
      if (task.egressPath?.fromUser) continue;
      (task.egressPath ??= new EgressPathSelection()).setNumberId(this.config.escaper, Number(h.value));
    }
    return null;
  }

  /** The server's destination filters; returns the error to answer with, or null when allowed. */
  checkDestination(u: Upstream): SluiceError | null {
    const c = this.config;
    if (c.dstPorts && isForbidden(c.dstPorts.check(u.port))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `port ${u.port} is forbidden by dst_port_filter`);
    }
    if (c.dstHosts && isForbidden(c.dstHosts.check(u.host))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `host ${u.host} is forbidden by dst_host_filter_set`);
    }
    return null;
  }

  override destroy(): void {
    super.destroy();
    this.pool.clear();
    this.ticketer?.close();
    this.ticketer = null;
  }
}

function tlsOptionsOf(c: HttpProxyConfig): ConnectionOptions {
  const t = c.tlsClient;
  // disable_sni: an empty servername makes node send no SNI
  const o = { ...t.options, handshakeTimeoutMs: t.handshakeTimeoutMs } as ConnectionOptions;
  if (t.disableSni) o.servername = '';
  return o;
}
