/**
 * Per-user counters (g3's `user.*` metrics), kept per (user, server) pair by the user-group module and read by
 * the StatsD emitter. Plain number fields: the hot path only increments.
 */
export class UserStats {
  connTotal = 0;
  requestTotal = 0;
  requestReady = 0;
  requestReuse = 0;
  requestRenew = 0;
  /** gauge */
  requestAlive = 0;
  /** gauge */
  l7ConnAlive = 0;
  forbiddenAuthFailed = 0;
  forbiddenUserExpired = 0;
  forbiddenUserBlocked = 0;
  forbiddenFullyLoaded = 0;
  forbiddenRateLimited = 0;
  forbiddenProtoBanned = 0;
  forbiddenSrcBlocked = 0;
  forbiddenDestDenied = 0;
  forbiddenIpBlocked = 0;
  forbiddenLogSkipped = 0;
  forbiddenUaBlocked = 0;
  inBytes = 0;
  inPackets = 0;
  outBytes = 0;
  outPackets = 0;
  upstreamInBytes = 0;
  upstreamInPackets = 0;
  upstreamOutBytes = 0;
  upstreamOutPackets = 0;
}

export type UserType = 'Static' | 'Dynamic' | 'Unmanaged' | 'Anonymous';
/** g3's `connection` tag */
export type UserConnectionType = 'http' | 'socks';
/** g3's `request` tag */
export type UserRequestType =
  | 'tcp_connect' | 'http_forward' | 'https_forward' | 'http_connect' | 'socks_tcp_connect'
  | 'socks_udp_connect' | 'socks_udp_associate' | 'ftp_over_http';

/**
 * One set of user counters and what it is about. Its tags are g3's: user_group, user, user_type, stat_id,
 * then `server` for the client-side metrics or `escaper` (+transport) for the upstream ones.
 */
export interface UserStatsEntry {
  userGroup: string;
  user: string;
  userType: UserType;
  /** the server the counters are for; client-side metrics are skipped without it */
  server?: string;
  /** the escaper the upstream counters are for; `user.upstream.traffic.*` is skipped without it */
  escaper?: string;
  /** `connection` tag of user.connection.total / user.l7.connection.alive (default http) */
  connection?: UserConnectionType;
  /** `request` tag of user.request.* and user.traffic.* (default http_forward) */
  request?: UserRequestType;
  /** set for an explicit site with `emit_stats: true`: names become `user.site.<siteId>.*` */
  siteId?: string;
  stats: UserStats;
}

/**
 * What a user group exposes for the emitter. The emitter walks `runtime.objects('user_group')` every interval
 * and calls this on each object that has it; the callback must not keep the entry (it is read at once).
 */
export interface UserStatsSource {
  forEachUserStats(cb: (entry: UserStatsEntry) => void): void;
}

export function isUserStatsSource(o: unknown): o is UserStatsSource {
  return typeof (o as Partial<UserStatsSource> | null)?.forEachUserStats === 'function';
}
