/** `direct_fixed`: connect from this host to the upstream, through the escaper's resolver and egress filter. */
import type { ConnectionOptions } from 'node:tls';
import type { Runtime } from '../../runtime/runtime.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { userConnectOptions } from '../../auth/task-user.js';
import { directConnect, directHttpForward, directTcpConnect, type DirectConnectOptions } from '../direct-connect.js';
import {
  newEscaperStats, type Escaper, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from '../types.js';
import type { DirectFixedConfig } from './config.js';
import { directUdpConnect, directUdpRelay, type DirectUdpContext } from './udp.js';
import type { CancelSignal } from '../../runtime/cancel.js';

export class DirectFixedEscaper implements Escaper<DirectFixedConfig> {
  readonly logName = 'DirectFixed';
  readonly stats = newEscaperStats();
  private opts: DirectConnectOptions;

  constructor(public config: DirectFixedConfig, private readonly runtime: Runtime) {
    this.opts = DirectFixedEscaper.options(config);
  }

  private static options(c: DirectFixedConfig): DirectConnectOptions {
    return {
      tuning: c.tuning, egress: c.egress, bindIps4: c.bindIps4, bindIps6: c.bindIps6, noIpv4: c.noIpv4, noIpv6: c.noIpv6,
      redirect: c.redirect,
    };
  }

  get name(): string {
    return this.config.name;
  }

  reload(cfg: DirectFixedConfig): void {
    this.config = cfg;
    this.opts = DirectFixedEscaper.options(cfg);
  }

  /** With enable_path_selection, a client's egress path number id pins one bind_ip (1 = the first written). */
  private optionsFor(task: TaskContext): DirectConnectOptions {
    const c = this.config;
    if (!c.enablePathSelection || c.bindIps.length === 0) return this.opts;
    const i = task.egressPath?.selectNumberId(this.name, c.bindIps.length);
    if (i === undefined) return this.opts;
    const ip = c.bindIps[i]!;
    const v6 = ip.includes(':');
    return { ...this.opts, bindIps4: v6 ? [] : [ip], bindIps6: v6 ? [ip] : [], noIpv4: c.noIpv4 || v6, noIpv6: c.noIpv6 || !v6 };
  }

  tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    return directTcpConnect(this, this.runtime, task, upstream, () =>
      directConnect(this.runtime.resolver(this.config.resolver), upstream, userConnectOptions(this.optionsFor(task), task), this.stats, signal));
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    return directHttpForward(this, this.runtime, task, upstream, tls, signal, await this.tcpConnect(task, upstream, signal));
  }

  /** UDP is in udp.ts; these only hand it this escaper's current options. */
  private udpContext(): DirectUdpContext {
    return {
      name: this.name, logName: this.logName, opts: this.opts, runtime: this.runtime, resolver: () => this.runtime.resolver(this.config.resolver),
      udpMiscOpts: this.config.udpMiscOpts,
    };
  }

  udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    this.stats.taskTotal++;
    return directUdpConnect(this.udpContext(), task, upstream, receiver, signal);
  }

  udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    this.stats.taskTotal++;
    return directUdpRelay(this.udpContext(), task, receiver, signal);
  }

  async close(): Promise<void> {}
  destroy(): void {}
}

