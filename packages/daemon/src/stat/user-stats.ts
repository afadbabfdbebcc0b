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
  requestAlive = 0;
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
  upstreamOutBytes = 0;
}
