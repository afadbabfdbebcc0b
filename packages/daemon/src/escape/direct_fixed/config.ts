import {
  parseTcpSpeedLimit, type TcpSpeedLimit,
  parseHappyEyeballs, parseNetworkAcl, parseResolveRedirection, parseResolveStrategy, parseTcpConnect,
  parseTcpKeepalive, parseTcpMiscOpts, parseUdpMiscOpts, normalizeIp, type NetworkAcl, type UdpMiscOpts,
} from '@sluice/common';
import type { BaseConfig, ParseContext } from '../../runtime/object-def.js';
import type { QueryStrategy } from '../../resolve/types.js';

export interface ConnectTuning {
  queryStrategy: QueryStrategy;
  pick: 'Random' | 'Serial';
  maxAttempts: number;
  eachTimeoutMs: number;
  resolutionDelayMs: number;
  secondResolutionTimeoutMs: number;
  firstAddressFamilyCount: number;
  attemptDelayMs: number;
  keepAlive: { enable: boolean; idleMs: number };
  /** TCP_NODELAY on upstream sockets (tcp_misc_opts.no_delay, default on); the other misc options have no Node API */
  noDelay: boolean;
  /** tcp_sock_speed_limit (old name tcp_conn_speed_limit) on each upstream socket */
  speedLimit: TcpSpeedLimit | undefined;
}

export interface DirectFixedConfig extends BaseConfig {
  resolver: string;
  egress: NetworkAcl;
  bindIps4: string[];
  bindIps6: string[];
  /** bind_ip in written order: egress path number ids index this list */
  bindIps: string[];
  enablePathSelection: boolean;
  noIpv4: boolean;
  noIpv6: boolean;
  redirect: ReturnType<typeof parseResolveRedirection> | undefined;
  tuning: ConnectTuning;
  /** udp_misc_opts of upstream UDP sockets (time_to_live / hop_limit are what Node can set) */
  udpMiscOpts: UdpMiscOpts | undefined;
}

function speedLimitOf(v: unknown): TcpSpeedLimit | undefined {
  return v === undefined ? undefined : parseTcpSpeedLimit(v);
}

/** The connect-related keys shared by every escaper that opens TCP connections itself. */
export function parseConnectTuning(v: Record<string, unknown>): ConnectTuning {
  const rs = parseResolveStrategy(v.resolve_strategy ?? 'Ipv4First');
  const tc = parseTcpConnect(v.tcp_connect ?? {});
  const he = parseHappyEyeballs(v.happy_eyeballs ?? {});
  const ka = v.tcp_keepalive === undefined ? { enabled: false, idleTimeMs: 60_000 } : parseTcpKeepalive(v.tcp_keepalive);
  return {
    queryStrategy: rs.query,
    pick: rs.pick,
    maxAttempts: tc.maxRetry + 1,
    eachTimeoutMs: tc.eachTimeoutMs,
    resolutionDelayMs: he.resolutionDelayMs,
    secondResolutionTimeoutMs: he.secondResolutionTimeoutMs,
    firstAddressFamilyCount: he.firstAddressFamilyCount,
    attemptDelayMs: he.connectionAttemptDelayMs,
    keepAlive: { enable: ka.enabled, idleMs: ka.idleTimeMs },
    noDelay: v.tcp_misc_opts === undefined ? true : parseTcpMiscOpts(v.tcp_misc_opts).noDelay ?? true,
    speedLimit: speedLimitOf(v.tcp_sock_speed_limit ?? v.tcp_conn_speed_limit),
  };
}

export function parseDirectFixedConfig(v: Record<string, unknown>, ctx: ParseContext): DirectFixedConfig {
  const bind = v.bind_ip === undefined ? [] : (Array.isArray(v.bind_ip) ? v.bind_ip : [v.bind_ip]).map(String);
  const bindIps4: string[] = [];
  const bindIps6: string[] = [];
  bind.forEach((ip, i) => {
    const n = normalizeIp(ip);
    if (!n) ctx.fail(['bind_ip', String(i)], `invalid IP address '${ip}'`);
    (n.includes(':') ? bindIps6 : bindIps4).push(n);
  });
  return Object.freeze({
    name: v.name as string,
    type: 'direct_fixed',
    raw: v,
    baseDir: ctx.baseDir,
    resolver: (v.resolver as string | undefined) ?? '',
    egress: parseNetworkAcl(v.egress_network_filter, 'egress'),
    bindIps4,
    bindIps6,
    bindIps: [...bind.map((ip) => normalizeIp(ip)!)],
    enablePathSelection: v.enable_path_selection === true,
    noIpv4: v.no_ipv4 === true,
    noIpv6: v.no_ipv6 === true,
    redirect: v.resolve_redirection === undefined ? undefined : parseResolveRedirection(v.resolve_redirection),
    tuning: parseConnectTuning(v),
    udpMiscOpts: v.udp_misc_opts === undefined ? undefined : parseUdpMiscOpts(v.udp_misc_opts),
  });
}
