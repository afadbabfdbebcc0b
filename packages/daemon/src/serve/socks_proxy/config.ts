import {
  normalizeIp, parseDuration, parseHostFilterSet, parsePortAcl, parsePortRange, parseSize, parseSocketBuffer,
  parseTcpMiscOpts, parseTcpSpeedLimit, parseUdpMiscOpts, parseUdpSpeedLimit, type HostFilterSet, type PortAcl,
  type PortRange, type TcpSpeedLimit, type UdpSpeedLimit,
} from '@sluice/common';
import { parseServerAuth, type ServerAuthConfig } from '../../auth/server-auth-config.js';
import type { ParseContext } from '../../runtime/object-def.js';
import type { ListeningServerConfig } from '../base-server.js';
import { parseTaskLogEvents } from '../../task/task-events.js';
import { parseListeningServerBase } from '../server-config.js';

export interface SocksProxyConfig extends ListeningServerConfig {
  escaper: string;
  auditor: string | undefined;
  auth: ServerAuthConfig;
  useUdpAssociate: boolean;
  negotiationTimeoutMs: number;
  udpClientInitialTimeoutMs: number;
  udpBind4: string[];
  udpBind6: string[];
  udpPortRange: PortRange | undefined;
  udpRecvBuffer: number | undefined;
  udpSendBuffer: number | undefined;
  /** null: reply with the socket's own address; a map: mapped address, unspecified when unmapped */
  transmuteUdpEchoIp: ReadonlyMap<string, string> | null;
  dstHosts: HostFilterSet | undefined;
  dstPorts: PortAcl | undefined;
  tcpSpeedLimit: TcpSpeedLimit | null;
  udpSpeedLimit: UdpSpeedLimit | null;
  udpPacketSize: number;
  tcpNoDelay: boolean;
  udpTtl: number | undefined;
  /** bytes a client may send after its request before the tunnel is up (from tcp_copy_buffer_size) */
  earlyDataMax: number;
}

const UDP_PACKET_MAX = 16 * 1024;

function ipList(v: unknown, family: 4 | 6, key: string, ctx: ParseContext): string[] {
  if (v === undefined) return [];
  const list = (Array.isArray(v) ? v : [v]).map(String);
  return list.map((ip, i) => {
    const n = normalizeIp(ip);
    if (!n || (family === 6) !== n.includes(':')) ctx.fail([key, String(i)], `not an IPv${family} address: '${ip}'`);
    return n;
  });
}

function parseTransmute(v: unknown, ctx: ParseContext): ReadonlyMap<string, string> | null {
  if (v === undefined || v === false) return null;
  if (v === true) return new Map();
  const m = new Map<string, string>();
  for (const [k, to] of Object.entries(v as Record<string, unknown>)) {
    const from = normalizeIp(k);
    const dest = typeof to === 'string' ? normalizeIp(to) : null;
    if (!from) ctx.fail(['transmute_udp_echo_ip', k], `not an IP address: '${k}'`);
    if (!dest) ctx.fail(['transmute_udp_echo_ip', k], `not an IP address: '${String(to)}'`);
    m.set(from, dest);
  }
  return m;
}

export function parseSocksProxyConfig(v: Record<string, unknown>, ctx: ParseContext): SocksProxyConfig {
  const base = { ...parseListeningServerBase(v, ctx, 'socks_proxy'), taskLogEvents: parseTaskLogEvents(v, ctx) };
  const buf = v.udp_socket_buffer === undefined ? {} : parseSocketBuffer(v.udp_socket_buffer);
  const tcpLimit = v.tcp_sock_speed_limit === undefined ? null : parseTcpSpeedLimit(v.tcp_sock_speed_limit);
  const udpLimit = v.udp_sock_speed_limit === undefined ? null : parseUdpSpeedLimit(v.udp_sock_speed_limit);
  const packetSize = v.udp_relay_packet_size === undefined ? 4096 : parseSize(v.udp_relay_packet_size);
  const copyBuf = v.tcp_copy_buffer_size === undefined ? 16384 : Math.max(4096, parseSize(v.tcp_copy_buffer_size));
  const tcpOpts = v.tcp_misc_opts === undefined ? {} : parseTcpMiscOpts(v.tcp_misc_opts);
  const udpOpts = v.udp_misc_opts === undefined ? {} : parseUdpMiscOpts(v.udp_misc_opts);
  return Object.freeze({
    ...base,
    // g3's socks_proxy closes an idle task at the first idle check (its default count is 1, not 5).
    idleMaxCount: (v.task_idle_max_count as number | undefined) ?? 1,
    escaper: v.escaper as string,
    auditor: v.auditor as string | undefined,
    auth: parseServerAuth(v),
    useUdpAssociate: v.use_udp_associate === true,
    negotiationTimeoutMs: v.negotiation_timeout === undefined ? 4000 : parseDuration(v.negotiation_timeout),
    udpClientInitialTimeoutMs: v.udp_client_initial_timeout === undefined ? 30_000 : parseDuration(v.udp_client_initial_timeout),
    udpBind4: ipList(v.udp_bind_ipv4, 4, 'udp_bind_ipv4', ctx),
    udpBind6: ipList(v.udp_bind_ipv6, 6, 'udp_bind_ipv6', ctx),
    udpPortRange: v.udp_bind_port_range === undefined ? undefined : parsePortRange(v.udp_bind_port_range),
    udpRecvBuffer: buf.recvSize,
    udpSendBuffer: buf.sendSize,
    transmuteUdpEchoIp: parseTransmute(v.transmute_udp_echo_ip, ctx),
    dstHosts: v.dst_host_filter_set === undefined ? undefined : parseHostFilterSet(v.dst_host_filter_set),
    dstPorts: v.dst_port_filter === undefined ? undefined : parsePortAcl(v.dst_port_filter),
    tcpSpeedLimit: tcpLimit?.enabled ? tcpLimit : null,
    udpSpeedLimit: udpLimit?.enabled ? udpLimit : null,
    udpPacketSize: Math.min(Math.max(packetSize, 512), UDP_PACKET_MAX),
    tcpNoDelay: tcpOpts.noDelay ?? true,
    udpTtl: udpOpts.timeToLive ?? udpOpts.hopLimit,
    earlyDataMax: copyBuf,
  });
}
