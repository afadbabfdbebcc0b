/**
 * `direct_float`: direct_fixed whose bind addresses are published at runtime
 * (`sluice-ctl escaper NAME publish '{"ipv4": "192.0.2.1"}'`). Each of `ipv4` / `ipv6` is an address, a record
 * `{ip, id, isp, eip, area, expire}` or a list of them; publishing a family replaces that family's set, which is
 * kept in `cache_ipv4` / `cache_ipv6`. A connection binds to a random unexpired address of its family, or to the
 * one the client's egress path string id names. UDP (SOCKS UDP associate / connect) works as in direct_fixed, its
 * socket bound the same way.
 */
import type { ConnectionOptions } from 'node:tls';
import { normalizeIp, SluiceError, ValueError } from '@sluice/common';
import type { ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, g3, objectSchema, str } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { parseDirectFixedConfig, type DirectFixedConfig } from '../direct_fixed/config.js';
import { userConnectOptions } from '../../auth/task-user.js';
import { directConnect, directHttpForward, directTcpConnect, type DirectConnectOptions } from '../direct-connect.js';
import { directUdpConnect, directUdpRelay, type DirectUdpContext } from '../direct_fixed/udp.js';
import { asRecords, loadCache, parseExpire, resolvePath, saveCache } from '../float-source.js';
import {
  newEscaperStats, type Escaper, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from '../types.js';
import type { CancelSignal } from '../../runtime/cancel.js';

export interface DirectFloatConfig extends DirectFixedConfig {
  cache4: string | undefined;
  cache6: string | undefined;
}

const schema = objectSchema(['direct_float'], {
  ...commonEscaperFields,
  resolver: str('Resolver used for domain upstreams.'),
  resolve_strategy: g3('resolve_strategy', 'Which address families to query and in what order (default Ipv4First).'),
  resolve_redirection: g3('resolve_redirection', 'Answer these domains with fixed addresses or another domain.'),
  egress_network_filter: g3('network_acl_egress', 'Which resolved addresses may be connected to.'),
  no_ipv4: { type: 'boolean', description: 'Never connect over IPv4.' },
  no_ipv6: { type: 'boolean', description: 'Never connect over IPv6.' },
  cache_ipv4: str('JSON file keeping the published IPv4 bind addresses.'),
  cache_ipv6: str('JSON file keeping the published IPv6 bind addresses.'),
  tcp_connect: g3('tcp_connect', 'Connect retries and per-attempt timeout.'),
  happy_eyeballs: g3('happy_eyeballs', 'RFC 8305 tuning.'),
  tcp_keepalive: g3('tcp_keepalive', 'TCP keepalive on upstream sockets (default 60s).'),
  tcp_misc_opts: g3('tcp_misc_opts', 'Socket options for upstream TCP sockets.'),
  udp_misc_opts: g3('udp_misc_opts', 'Socket options for upstream UDP sockets.'),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per-connection speed limit towards upstreams.'),
  tcp_conn_speed_limit: g3('tcp_speed_limit', 'Old name of tcp_sock_speed_limit.'),
  udp_sock_speed_limit: g3('udp_speed_limit', 'Per-socket speed limit for UDP relays.'),
  udp_relay_speed_limit: g3('udp_speed_limit', 'Old name of udp_sock_speed_limit.'),
}, {
  aliases: { egress_net_filter: 'egress_network_filter', tcp_conn_limit: 'tcp_conn_speed_limit', udp_relay_limit: 'udp_relay_speed_limit' },
});

function parse(v: Record<string, unknown>, ctx: ParseContext): DirectFloatConfig {
  const base = parseDirectFixedConfig(v, ctx);
  return Object.freeze({
    ...base,
    type: 'direct_float',
    // g3's direct_float keeps connections alive by default
    tuning: v.tcp_keepalive === undefined ? { ...base.tuning, keepAlive: { enable: true, idleMs: 60_000 } } : base.tuning,
    cache4: resolvePath(ctx.baseDir, v.cache_ipv4),
    cache6: resolvePath(ctx.baseDir, v.cache_ipv6),
  });
}

interface BindRecord {
  ip: string;
  id: string | undefined;
  expireAt: number | undefined;
}

function parseBinds(v: unknown, family: 4 | 6): BindRecord[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.map((x, i) => {
    const m = typeof x === 'string' ? { ip: x } : (x as Record<string, unknown>);
    if (!m || typeof m !== 'object') throw new ValueError(`ipv${family}[${i}] must be an address or a map`);
    const ip = normalizeIp(String(m.ip ?? ''));
    if (!ip || (ip.includes(':') ? 6 : 4) !== family) throw new ValueError(`ipv${family}[${i}]: '${String(m.ip)}' is not an IPv${family} address`);
    return { ip, id: m.id === undefined ? undefined : String(m.id), expireAt: parseExpire(m.expire) };
  });
}

export class DirectFloatEscaper implements Escaper<DirectFloatConfig> {
  readonly logName = 'DirectFloat';
  readonly stats = newEscaperStats();
  private binds4: BindRecord[] = [];
  private binds6: BindRecord[] = [];

  constructor(public config: DirectFloatConfig, private readonly runtime: Runtime) {}

  get name(): string {
    return this.config.name;
  }

  async prepare(): Promise<void> {
    const c4 = await loadCache(this.config.cache4).catch(() => undefined);
    const c6 = await loadCache(this.config.cache6).catch(() => undefined);
    try {
      if (c4) this.binds4 = parseBinds(c4, 4);
      if (c6) this.binds6 = parseBinds(c6, 6);
    } catch (e) {
      this.runtime.plog.warn(`escaper ${this.name}: ignoring bad cache: ${(e as Error).message}`);
    }
  }

  reload(cfg: DirectFloatConfig): void {
    this.config = cfg;
  }

  async publish(data: unknown): Promise<void> {
    const recs = asRecords(data);
    for (const r of recs) {
      const m = r as Record<string, unknown>;
      for (const k of Object.keys(m)) if (k !== 'ipv4' && k !== 'ipv6') throw new ValueError(`unknown key '${k}' (ipv4, ipv6)`);
      if (m.ipv4 !== undefined) {
        this.binds4 = parseBinds(m.ipv4, 4);
        await saveCache(this.config.cache4, m.ipv4);
      }
      if (m.ipv6 !== undefined) {
        this.binds6 = parseBinds(m.ipv6, 6);
        await saveCache(this.config.cache6, m.ipv6);
      }
    }
  }

  /** Unexpired bind addresses (for tests and status). */
  bindAddresses(): { ipv4: string[]; ipv6: string[] } {
    const now = Date.now();
    const live = (l: BindRecord[]) => l.filter((b) => b.expireAt === undefined || b.expireAt > now).map((b) => b.ip);
    return { ipv4: live(this.binds4), ipv6: live(this.binds6) };
  }

  /**
   * Connect options for a task: the unexpired published addresses (or the one its egress path string id names)
   * as bind addresses; a family with none is not used. Null when nothing is published.
   */
  private optionsFor(task: TaskContext): DirectConnectOptions | null {
    const c = this.config;
    let { ipv4, ipv6 } = this.bindAddresses();
    const wanted = task.egressPath?.selectStringId(this.name);
    if (wanted !== undefined) {
      const hit = [...this.binds4, ...this.binds6].find((b) => b.id === wanted);
      if (hit) [ipv4, ipv6] = hit.ip.includes(':') ? [[], [hit.ip]] : [[hit.ip], []];
    }
    if (ipv4.length === 0 && ipv6.length === 0) return null;
    return {
      tuning: c.tuning, egress: c.egress, bindIps4: ipv4, bindIps6: ipv6, redirect: c.redirect,
      noIpv4: c.noIpv4 || ipv4.length === 0, noIpv6: c.noIpv6 || ipv6.length === 0,
    };
  }

  private noBind(): SluiceError {
    return new SluiceError('ESCAPER_NOT_USABLE', `${this.name}: no bind address published`);
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    const opts = this.optionsFor(task);
    return directTcpConnect(this, this.runtime, task, upstream, () => {
      if (!opts) throw this.noBind();
      return directConnect(this.runtime.resolver(this.config.resolver), upstream, userConnectOptions(opts, task), this.stats, signal);
    });
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    return directHttpForward(this, this.runtime, task, upstream, tls, signal, await this.tcpConnect(task, upstream, signal));
  }

  /** UDP as direct_fixed does it, its socket bound to a published address of the destination's family. */
  private udpContext(task: TaskContext): DirectUdpContext {
    this.stats.taskTotal++;
    const opts = this.optionsFor(task);
    if (!opts) throw this.noBind();
    return { name: this.name, logName: this.logName, opts, runtime: this.runtime, resolver: () => this.runtime.resolver(this.config.resolver) };
  }

  async udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    return directUdpConnect(this.udpContext(task), task, upstream, receiver, signal);
  }

  async udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    return directUdpRelay(this.udpContext(task), task, receiver, signal);
  }

  async close(): Promise<void> {}
  destroy(): void {}
}

export const directFloatType: ObjectTypeDef<DirectFloatConfig, DirectFloatEscaper> = {
  type: 'direct_float',
  aliases: ['direct_dynamic'],
  logName: 'DirectFloat',
  schema,
  parse,
  create: (cfg, runtime) => new DirectFloatEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: cfg.resolver ? [cfg.resolver] : [] }),
  diff: () => 'reload',
};
