/** The `socks_proxy` server: SOCKS4, SOCKS4a and SOCKS5 (CONNECT, UDP ASSOCIATE / g3's udp connect). */
import type { Socket } from 'node:net';
import { isForbidden, SluiceError } from '@sluice/common';
import type { Escaper } from '../../escape/types.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { finishTask } from '../../task/task-log.js';
import { ListeningServer } from '../base-server.js';
import type { ClientInfo } from '../types.js';
import { socksLogin } from '../../auth/socks-auth.js';
import type { SocksAuthenticator } from './auth.js';
import type { SocksProxyConfig } from './config.js';
import { SocksConnection } from './connection.js';
import { SocksProxyStats } from './stats.js';

export class SocksProxyServer extends ListeningServer<SocksProxyConfig> {
  readonly logName = 'SocksProxy';
  override stats: SocksProxyStats = new SocksProxyStats();
  private authenticator: SocksAuthenticator | null = null;

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    const c = new SocksConnection(this, socket, info);
    this.track(c);
    c.start();
  }

  connectionClosed(c: SocksConnection): void {
    this.untrack(c);
  }

  escaper(): Escaper {
    return this.runtime.escaper(this.config.escaper);
  }

  /**
   * Who checks SOCKS5 usernames/passwords. With none (the default until a user group is configured) the
   * server offers only "no authentication required"; with one it offers only username/password, and SOCKS4
   * (which has no password) is refused.
   */
  setAuthenticator(a: SocksAuthenticator | null): void {
    this.authenticator = a;
  }

  get requireAuth(): boolean {
    return this.authenticator !== null || this.config.auth.userGroup !== '';
  }

  /** The authentication hook: false when no authenticator is set or it refuses. */
  async authenticate(username: string, password: string, client: ClientInfo): Promise<boolean> {
    if (this.config.auth.userGroup) return socksLogin(this.runtime, this.config.auth, username, password, client);
    if (!this.authenticator) return false;
    try {
      return await this.authenticator.authenticate(username, password, client);
    } catch {
      return false;
    }
  }

  beginTask(t: TaskContext): void {
    t.events = this.taskEvents;
    const s = this.stats;
    s.taskTotal++;
    s.taskAlive++;
    if (t.taskType === 'TcpConnect') {
      s.tcpConnectTotal++;
      s.tcpConnectAlive++;
    } else if (t.taskType === 'UdpAssociate') {
      s.udpAssociateTotal++;
      s.udpAssociateAlive++;
    } else if (t.taskType === 'UdpConnect') {
      s.udpConnectTotal++;
      s.udpConnectAlive++;
    }
  }

  endTask(t: TaskContext): void {
    if (!finishTask(t, this.taskLogger)) return;
    const s = this.stats;
    s.taskAlive--;
    if (t.taskType === 'TcpConnect') s.tcpConnectAlive--;
    else if (t.taskType === 'UdpAssociate') s.udpAssociateAlive--;
    else if (t.taskType === 'UdpConnect') s.udpConnectAlive--;
  }

  /**
   * The server's destination filters; returns the error to answer with, or null when allowed. The host filter
   * set is skipped for UDP ASSOCIATE datagrams (`hosts` false), as g3proxy documents.
   */
  checkDestination(u: Upstream, hosts = true): SluiceError | null {
    const c = this.config;
    if (c.dstPorts && isForbidden(c.dstPorts.check(u.port))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `port ${u.port} is forbidden by dst_port_filter`);
    }
    if (hosts && c.dstHosts && isForbidden(c.dstHosts.check(u.host))) {
      this.stats.forbiddenDestDenied++;
      return new SluiceError('FORBIDDEN_DESTINATION', `host ${u.host} is forbidden by dst_host_filter_set`);
    }
    return null;
  }

  /** Whether a UDP source address may use the server (the ingress filter, for a client-chosen UDP address). */
  ingressAllowed(ip: string): boolean {
    return !this.config.ingress || !isForbidden(this.config.ingress.check(ip));
  }
}
