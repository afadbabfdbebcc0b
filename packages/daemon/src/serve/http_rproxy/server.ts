/**
 * The `http_rproxy` server (g3's HttpRProxy, aliases http_reverse_proxy / http_gateway): an HTTP/1.x reverse
 * proxy routing by Host to per-site upstreams, optionally terminating TLS with a certificate picked by SNI.
 */
import type { Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { authorizeHttpRequest, type AuthDenied, type HttpAuthInput } from '../../auth/server-auth.js';
import type { User } from '../../auth/user.js';
import type { TaskContext } from '../../task/task.js';
import { HttpServer } from '../http/server.js';
import type { ClientInfo } from '../types.js';
import type { HttpRProxyConfig } from './config.js';
import { RProxyConnection } from './connection.js';
import { tlsContextFor } from './hosts.js';
import { reconcileTicketer, type RollingTicketer } from '../../tls/ticketer.js';

/** Offered when no site has a certificate for a ClientHello without SNI: the handshake then fails cleanly. */
let emptyContext: ReturnType<typeof createSecureContext> | undefined;

export class HttpRProxyServer extends HttpServer<HttpRProxyConfig> {
  readonly logName = 'HttpRProxy';
  /** tls_ticketer: session ticket keys of every certificate this server offers */
  private ticketer: RollingTicketer | null = null;
  /** contexts given the ticketer's keys (each once) */
  private ticketed = new WeakSet<SecureContext>();
  /** this server's own empty context when it has a ticketer (the shared one must not carry its callback) */
  private ownEmptyContext: SecureContext | undefined;

  override start(): void {
    super.start();
    this.setTicketer();
  }

  override reload(cfg: HttpRProxyConfig): void {
    super.reload(cfg);
    this.setTicketer();
  }

  private setTicketer(): void {
    const before = this.ticketer;
    this.ticketer = reconcileTicketer(this.ticketer, this.config.enableTlsServer ? this.config.tlsTicketer : undefined, this.warn);
    if (this.ticketer !== before) this.ticketed = new WeakSet();
  }

  override destroy(): void {
    super.destroy();
    this.ticketer?.close();
    this.ticketer = null;
  }

  /**
   * A context as offered to a client, with the ticketer's keys. OpenSSL asks the context the handshake began
   * with for ticket keys and node looks its callback up on the one chosen by SNI, so both get them.
   */
  private ticketedContext(c: SecureContext): SecureContext {
    const t = this.ticketer;
    if (t && !this.ticketed.has(c)) {
      t.attach(c);
      this.ticketed.add(c);
    }
    return c;
  }

  private emptyContext(): SecureContext {
    if (!this.ticketer) return (emptyContext ??= createSecureContext({}));
    return (this.ownEmptyContext ??= createSecureContext({}));
  }

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    if (this.config.enableTlsServer && !info.tls) this.acceptTls(socket, info);
    else this.serve(socket, info);
  }

  private serve(socket: Socket, info: ClientInfo): void {
    const c = new RProxyConnection(this, socket, info);
    this.track(c);
    c.start();
  }

  /**
   * TLS first: the ClientHello must arrive within client_hello_recv_timeout; its SNI picks the matched site's
   * tls_server (else global_tls_server), and the handshake must then finish within that config's timeout.
   * Without a certificate for the name the connection is dropped, as g3 does.
   */
  private acceptTls(raw: Socket, info: ClientInfo): void {
    const cfg = this.config;
    const fallback = tlsContextFor(cfg.hosts, undefined, cfg.globalTlsServer);
    let timer: NodeJS.Timeout;
    const tls = new TLSSocket(raw, {
      isServer: true,
      secureContext: this.ticketedContext(fallback?.context ?? this.emptyContext()),
      ALPNProtocols: ['http/1.1'],
      SNICallback: (name, cb) => {
        const c = tlsContextFor(cfg.hosts, name, cfg.globalTlsServer);
        clearTimeout(timer);
        timer = setTimeout(drop, c?.handshakeTimeoutMs ?? 10_000);
        if (c) cb(null, this.ticketedContext(c.context));
        else cb(new Error(`no certificate for ${name}`), undefined);
      },
    });
    const pending = { abort: () => drop(), idle: true };
    const drop = () => {
      clearTimeout(timer);
      tls.destroy();
      raw.destroy();
      this.untrack(pending);
    };
    timer = setTimeout(drop, cfg.clientHelloTimeoutMs + (fallback?.handshakeTimeoutMs ?? 0));
    timer.unref();
    this.track(pending);
    tls.once('error', drop);
    tls.once('close', drop);
    tls.once('secure', () => {
      clearTimeout(timer);
      tls.off('error', drop);
      tls.off('close', drop);
      this.untrack(pending);
      this.serve(tls, { ...info, tls: true });
    });
  }

  connectionClosed(c: RProxyConnection): void {
    this.untrack(c);
  }

  /** The user auth step (auth/ owns it): the user, or what to answer. */
  authorize(task: TaskContext, input: HttpAuthInput): User | AuthDenied | Promise<User | AuthDenied> {
    return authorizeHttpRequest(this.runtime, this.config.auth, task, input);
  }
}
