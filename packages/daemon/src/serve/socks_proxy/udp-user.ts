/**
 * What the user of a SOCKS UDP session limits per datagram: the per-socket budget (udp_sock_speed_limit,
 * 2^shift ms slices), the user's process-wide buckets (udp_all_upload/download_speed_limit) and the
 * destination filters (dst_host_filter_set, dst_port_filter). Over budget or forbidden datagrams are dropped,
 * not queued, and counted; the session goes on.
 */
import { isForbidden } from '@sluice/common';
import type { User } from '../../auth/user.js';
import type { UserStats } from '../../stat/user-stats.js';
import type { Upstream } from '../../task/task.js';
import { UdpBudget } from './udp-support.js';

export class UdpUserLimits {
  private readonly up: UdpBudget | null;
  private readonly down: UdpBudget | null;
  /** dropped datagrams, per reason (the task log's view of this session) */
  droppedByLimit = 0;
  droppedByFilter = 0;

  constructor(readonly user: User, private readonly stats: UserStats) {
    const l = user.config.udpSockSpeedLimit;
    const on = l !== undefined && l.enabled;
    this.up = on ? new UdpBudget(l, l.maxUploadBytes, l.maxUploadPackets) : null;
    this.down = on ? new UdpBudget(l, l.maxDownloadBytes, l.maxDownloadPackets) : null;
  }

  /** Whether the user has anything to check per datagram (else the session skips this object). */
  static needed(user: User): boolean {
    const c = user.config;
    return !!(c.udpSockSpeedLimit?.enabled || user.udpUploadBucket || user.udpDownloadBucket || c.dstHostFilter || c.dstPortFilter);
  }

  /** May a client datagram of `size` bytes go upstream? Charges the budgets when it may. */
  allowUpload(size: number): boolean {
    if ((this.up && !this.up.allow(size)) || (this.user.udpUploadBucket && !this.user.udpUploadBucket.allow(size))) {
      this.droppedByLimit++;
      return false;
    }
    return true;
  }

  /** May an upstream datagram of `size` bytes (SOCKS header included) go to the client? */
  allowDownload(size: number): boolean {
    if ((this.down && !this.down.allow(size)) || (this.user.udpDownloadBucket && !this.user.udpDownloadBucket.allow(size))) {
      this.droppedByLimit++;
      return false;
    }
    return true;
  }

  /** The user's destination filters for one datagram; false (counted) when forbidden. */
  allowDestination(dest: Upstream): boolean {
    const c = this.user.config;
    if ((c.dstPortFilter && isForbidden(c.dstPortFilter.check(dest.port))) || (c.dstHostFilter && isForbidden(c.dstHostFilter.check(dest.host)))) {
      this.droppedByFilter++;
      this.stats.forbiddenDestDenied++;
      return false;
    }
    return true;
  }
}
