/**
 * What the stream servers (tcp_stream, tls_stream, sni_proxy) share once they know where a client goes: one
 * TcpConnect task per client connection — facts authentication, connect through the escaper, optional TLS to
 * the upstream, the bytes the client already sent replayed first, then the relay until either side closes.
 */
import type { Socket } from 'node:net';
import { SluiceError, toSluiceError } from '@sluice/common';
import { FactsUserGroup } from '../../auth/facts/facts-group.js';
import { authorizeTask } from '../../auth/server-auth.js';
import { tlsUpgrade } from '../../escape/tls-upgrade.js';
import type { Escaper } from '../../escape/types.js';
import type { TlsClientConfig } from '../../tls/tls-config.js';
import { TaskContext, type Upstream } from '../../task/task.js';
import { finishTask } from '../../task/task-log.js';
import { ListeningServer, type AliveWork } from '../base-server.js';
import { Relay, RELAY_END_REASON } from '../relay.js';
import type { ClientInfo } from '../types.js';
import type { StreamServerConfig } from './stream-config.js';
import { AuditedTunnel } from '../../audit/audited-tunnel.js';
import { Cancel } from '../../runtime/cancel.js';

/** Where one stream task goes. */
export interface StreamTarget {
  upstream: Upstream;
  /** TLS to the upstream, with the name to send and verify */
  tls?: { config: TlsClientConfig; name: string } | undefined;
  /** bytes the server read from the client before (the peeked request), sent to the upstream first */
  early?: Buffer | null;
}

export abstract class StreamServer<Cfg extends StreamServerConfig> extends ListeningServer<Cfg> {
  escaper(): Escaper {
    return this.runtime.escaper(this.config.escaper);
  }

  newTask(info: ClientInfo): TaskContext {
    const t = new TaskContext('TcpConnect', this.name, this.logName, info.clientAddr, info.serverAddr);
    t.events = this.taskEvents;
    this.stats.taskTotal++;
    this.stats.taskAlive++;
    return t;
  }

  endTask(t: TaskContext): void {
    if (finishTask(t, this.taskLogger)) this.stats.taskAlive--;
  }

  /** End a task that failed before it had an upstream connection, closing the client. */
  failEarly(task: TaskContext, client: Socket, err: SluiceError): void {
    task.error = err;
    if (err.code === 'CLIENT_AUTH_FAILED') this.stats.forbiddenAuthFailed++;
    else if (err.code === 'FORBIDDEN_DESTINATION') this.stats.forbiddenDestDenied++;
    else if (err.code === 'CLIENT_USER_BLOCKED') this.stats.forbiddenUserBlocked++;
    this.endTask(task);
    client.destroy();
  }

  /**
   * The facts check: the user of the configured facts group whose facts match the client IP (or, for
   * sni_proxy, the requested server name), then that user's own rules. Returns the refusal or null.
   */
  async authorize(task: TaskContext, info: ClientInfo, client: Socket): Promise<SluiceError | null> {
    const a = this.config.auth;
    if (!a.byClientIp && !a.byServerName) return null;
    const group = this.runtime.gen?.maps.user_group.get(a.userGroup);
    if (!(group instanceof FactsUserGroup)) {
      return new SluiceError('CLIENT_AUTH_FAILED', `user group '${a.userGroup}' is not a facts user group`);
    }
    const up = task.upstream!;
    const user = a.byClientIp
      ? group.matchFacts(info.clientIp, undefined)
      : up.ipFamily !== 0 ? group.matchFacts(up.host, undefined) : group.matchFacts(undefined, up.host);
    if (!user) {
      const by = a.byClientIp ? `client ip ${info.clientIp}` : `server name ${up.host}`;
      return new SluiceError('CLIENT_AUTH_FAILED', `no user of '${a.userGroup}' matches ${by}`);
    }
    return authorizeTask(user, task, { serverName: this.name, requestType: null, clientIp: info.clientIp, upstream: up, newConnection: true, clientSocket: client });
  }

  /** Run a task whose target is known; the client socket is owned by the task from here on. */
  runStream(client: Socket, info: ClientInfo, task: TaskContext, target: StreamTarget): void {
    const work = new StreamWork(this, client, info, task, target);
    this.track(work);
    void work.run();
  }

  /** TLS handshakes to upstreams count on the escaper that made the connection (a route escaper's leaf). */
  countUpstreamTls(escaper: string, err: SluiceError | null): void {
    const stats = this.runtime.escaper(escaper)?.stats;
    if (!stats) return;
    if (!err) stats.tlsHandshakeSuccess++;
    else if (err.code === 'UPSTREAM_TLS_HANDSHAKE_TIMEOUT') stats.tlsHandshakeTimeout++;
    else if (err.code !== 'CLIENT_CLOSED_EARLY') stats.tlsHandshakeError++;
  }

  workDone(w: AliveWork): void {
    this.untrack(w);
  }
}

/** One stream task while it lives: connecting (client input held, bounded), then relaying. */
class StreamWork implements AliveWork {
  private relay: Pick<Relay, 'idleTick' | 'abort'> | null = null;
  private readonly abortCtl = new Cancel();
  private clientGone = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private done = false;

  constructor(
    private readonly server: StreamServer<StreamServerConfig>,
    private readonly client: Socket,
    private readonly info: ClientInfo,
    private readonly task: TaskContext,
    private readonly target: StreamTarget,
  ) {}

  idleTick(max: number): boolean {
    return this.relay ? this.relay.idleTick(max) : false;
  }

  abort(): void {
    if (this.relay) return this.relay.abort();
    this.clientGone = true;
    this.abortCtl.abort();
    this.fail(new SluiceError('SERVER_QUIT', 'server is quitting'));
  }

  private readonly onData = (chunk: Buffer): void => {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes > this.server.config.earlyDataMax) this.client.pause();
  };

  private readonly onGone = (): void => {
    this.clientGone = true;
    this.abortCtl.abort();
  };

  private fail(err: SluiceError): void {
    if (this.done) return;
    this.done = true;
    this.detachClient();
    this.server.failEarly(this.task, this.client, err);
    this.server.workDone(this);
  }

  private detachClient(): void {
    const c = this.client;
    c.off('data', this.onData);
    c.off('end', this.onGone);
    c.off('close', this.onGone);
    c.off('error', this.onGone);
  }

  async run(): Promise<void> {
    const { server, client, task, target } = this;
    if (server.config.tcpNoDelay) client.setNoDelay(true);
    task.upstream = target.upstream;
    task.stage = 'Preparing';
    // While authorizing and connecting: keep reading so a client hanging up cancels the connect; hold its
    // bytes (bounded by tcp_copy_buffer_size, then the socket is paused).
    client.on('data', this.onData);
    client.on('end', this.onGone);
    client.on('close', this.onGone);
    client.on('error', this.onGone);
    client.resume();

    const refused = await server.authorize(task, this.info, client);
    if (this.done) return;
    if (this.clientGone) return this.fail(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during authorization'));
    if (refused) return this.fail(refused);

    const escaper = server.escaper();
    task.escaper = escaper.name;
    task.stage = 'Connecting';
    task.markWait();
    let up: Socket;
    try {
      const conn = await escaper.tcpConnect(task, target.upstream, this.abortCtl.signal);
      up = conn.socket;
      if (target.tls && !this.clientGone) {
        const { config, name } = target.tls;
        try {
          // no ALPN offered: the stream carries whatever the client speaks
          up = await tlsUpgrade(up, name, { ...config.options, servername: config.disableSni ? undefined : name, ALPNProtocols: [], handshakeTimeoutMs: config.handshakeTimeoutMs }, this.abortCtl.signal);
          server.countUpstreamTls(conn.info.escaper, null);
        } catch (e) {
          server.countUpstreamTls(conn.info.escaper, toSluiceError(e, 'UPSTREAM_TLS_HANDSHAKE_FAILED'));
          throw e;
        }
      }
    } catch (e) {
      if (this.done) return;
      const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
      if (this.clientGone) return this.fail(new SluiceError('CLIENT_CLOSED_EARLY', `client went away while connecting: ${err.message}`));
      return this.fail(err);
    }
    if (this.done || this.clientGone || client.destroyed) {
      up.destroy();
      return this.fail(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away while connecting'));
    }
    this.detachClient();
    task.stage = 'Connected';
    task.markReady();
    task.stage = 'Relaying';
    const auditor = server.tunnelAuditor(task, server.config.auditor);
    if (auditor) {
      const early = target.early && target.early.length > 0 ? [target.early, ...this.held] : this.held;
      this.held = [];
      const tunnel = new AuditedTunnel({
        auditor, client, upstream: up, task, target: task.upstream ?? target.upstream, stats: server.stats, limit: server.config.tcpSpeedLimit,
        early, done: () => {
          this.done = true;
          server.endTask(task);
          server.workDone(this);
        },
      });
      this.relay = tunnel;
      return tunnel.start();
    }
    const relay = new Relay(client, up, task, server.stats, (end) => {
      task.reason = RELAY_END_REASON[end];
      this.done = true;
      server.endTask(task);
      server.workDone(this);
    }, server.config.tcpSpeedLimit);
    // bytes read before the upstream existed (the peeked hello or request, then anything after) go first
    const early = target.early;
    if (early && early.length > 0) relay.sendEarly(early);
    for (const b of this.held) relay.sendEarly(b);
    this.held = [];
    this.relay = relay;
    relay.start();
  }

}
