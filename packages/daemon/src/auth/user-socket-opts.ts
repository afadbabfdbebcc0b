/**
 * The socket options a user may set (tcp_remote_keepalive, tcp/udp_client/remote_misc_opts) split into what
 * Node can apply and what it cannot. Node has no API for IP_TOS, SO_MARK, TCP_MAXSEG, TCP_CONGESTION, IP_TTL on
 * TCP sockets or the keepalive probe interval/count (UDP sockets do take a TTL: dgram's setTTL); g3 configs that set them still load (refusing them would
 * break g3 compatibility), and each is named once in a warning when the user is loaded.
 */
import type { Socket } from 'node:net';
import type { TcpMiscOpts, UdpMiscOpts } from '@sluice/common';
import type { UserConfig } from './user-config.js';

const TCP_UNAPPLIED: readonly [keyof TcpMiscOpts, string][] = [
  ['maxSegmentSize', 'max_segment_size'],
  ['timeToLive', 'time_to_live'],
  ['hopLimit', 'hop_limit'],
  ['typeOfService', 'type_of_service'],
  ['trafficClass', 'traffic_class'],
  ['congestionControl', 'congestion_control'],
  ['netfilterMark', 'netfilter_mark'],
];

const UDP_UNAPPLIED: readonly [keyof UdpMiscOpts, string][] = [
  ['typeOfService', 'type_of_service'],
  ['trafficClass', 'traffic_class'],
  ['netfilterMark', 'netfilter_mark'],
];

/** `key.option` names of the options set for this user that sluice does not apply. */
export function unappliedUserOptions(c: UserConfig): string[] {
  const out: string[] = [];
  const tcp = (key: string, o: TcpMiscOpts | undefined) => {
    if (o) for (const [field, name] of TCP_UNAPPLIED) if (o[field] !== undefined) out.push(`${key}.${name}`);
  };
  tcp('tcp_client_misc_opts', c.tcpClientMiscOpts);
  tcp('tcp_remote_misc_opts', c.tcpRemoteMiscOpts);
  const ka = c.tcpRemoteKeepalive;
  if (ka?.probeIntervalMs !== undefined) out.push('tcp_remote_keepalive.probe_interval');
  if (ka?.probeCount !== undefined) out.push('tcp_remote_keepalive.probe_count');
  const c2 = c.udpClientMiscOpts;
  if (c2) for (const [field, name] of UDP_UNAPPLIED) if (c2[field] !== undefined) out.push(`udp_client_misc_opts.${name}`);
  const r = c.udpRemoteMiscOpts;
  if (r) for (const [field, name] of UDP_UNAPPLIED) if (r[field] !== undefined) out.push(`udp_remote_misc_opts.${name}`);
  return out;
}

/** tcp_client_misc_opts on the client socket of a task (no_delay is what Node can set). */
export function applyClientTcpOpts(socket: Socket, o: TcpMiscOpts): void {
  if (o.noDelay !== undefined && !socket.destroyed) socket.setNoDelay(o.noDelay);
}

/** The TTL (IPv4) or hop limit (IPv6) a udp_misc_opts map asks for, either key standing in for the other. */
export function udpOptsTtl(o: UdpMiscOpts | undefined, v6: boolean): number | undefined {
  return v6 ? o?.hopLimit ?? o?.timeToLive : o?.timeToLive ?? o?.hopLimit;
}

/**
 * The TTL for a remote UDP socket of a direct escaper: the smaller of the escaper's udp_misc_opts and the
 * task user's udp_remote_misc_opts (g3 limits the user's "other fields" to the escaper's).
 */
export function remoteUdpTtl(escaper: UdpMiscOpts | undefined, user: UdpMiscOpts | undefined, v6: boolean): number | undefined {
  return clientUdpTtl(udpOptsTtl(escaper, v6), user, v6);
}

/**
 * The TTL (IPv4) or hop limit (IPv6) for a client-facing UDP socket: the smaller of the server's and the
 * user's, as g3 limits "other fields" of user misc opts to the smaller one.
 */
export function clientUdpTtl(server: number | undefined, user: UdpMiscOpts | undefined, v6: boolean): number | undefined {
  const u = udpOptsTtl(user, v6);
  if (u === undefined) return server;
  return server === undefined ? u : Math.min(server, u);
}
