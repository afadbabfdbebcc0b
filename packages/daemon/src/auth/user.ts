/**
 * A live user: its config plus what it counts at runtime (rate limiters, alive requests, per-server
 * stats, verified-password cache). A dynamic user whose config did not change across a refresh keeps its
 * object, and with it its counters.
 */
import { createHash } from 'node:crypto';
import { UserStats, type UserRequestType, type UserStatsEntry } from '../stat/user-stats.js';
import { DatagramBucket } from '../limit/datagram-limit.js';
import { EgressPathSelection } from '../escape/egress-path.js';
import { ByteBucket, RateLimiter } from './limiter.js';
import { buildTaskOverrides, type UserTaskOverrides } from './task-user.js';
import { tokenIsSlow, verifyToken } from './token.js';
import type { UserConfig, UserSiteConfig } from './user-config.js';

export type UserType = 'Static' | 'Dynamic' | 'Anonymous' | 'Unmanaged';

/** Verified password digests kept per user; a few cover a user's clients rotating between passwords. */
const VERIFIED_CACHE_SIZE = 8;

export class User {
  readonly connLimiter: RateLimiter | undefined;
  readonly requestLimiter: RateLimiter | undefined;
  readonly logLimiter: RateLimiter | undefined;
  readonly uploadBucket: ByteBucket | undefined;
  readonly downloadBucket: ByteBucket | undefined;
  /** udp_all_upload/download_speed_limit: shared by all UDP relays of this user */
  readonly udpUploadBucket: DatagramBucket | undefined;
  readonly udpDownloadBucket: DatagramBucket | undefined;
  /** what this user's tasks carry for escapers, relays and http_proxy; undefined when nothing is overridden */
  readonly taskOverrides: UserTaskOverrides | undefined;
  /** egress_path_id_map as a selection shared by this user's tasks (undefined without a map) */
  readonly egressPath: EgressPathSelection | undefined;
  private readonly siteOverrides = new Map<string, UserTaskOverrides | undefined>();
  aliveRequests = 0;
  /** client-side counters per server, then request type (nested maps: no key string built per request) */
  private readonly stats = new Map<string, Map<UserRequestType, { server: string; request: UserRequestType; stats: UserStats }>>();
  /** upstream-side counters per escaper */
  private readonly upstream = new Map<string, UserStats>();
  /** per explicit site id, then per server (key `site|server`) */
  private readonly sites = new Map<string, { siteId: string; server: string; stats: UserStats }>();
  private readonly verified = new Set<string>();

  constructor(readonly config: UserConfig, readonly type: UserType, readonly groupName: string) {
    const c = config;
    this.connLimiter = c.connectionRateLimit && new RateLimiter(c.connectionRateLimit);
    this.requestLimiter = c.requestRateLimit && new RateLimiter(c.requestRateLimit);
    this.logLimiter = c.logRateLimit && new RateLimiter(c.logRateLimit);
    this.uploadBucket = c.tcpAllUploadSpeedLimit && new ByteBucket(c.tcpAllUploadSpeedLimit);
    this.downloadBucket = c.tcpAllDownloadSpeedLimit && new ByteBucket(c.tcpAllDownloadSpeedLimit);
    this.udpUploadBucket = c.udpAllUploadSpeedLimit && new DatagramBucket(c.udpAllUploadSpeedLimit);
    this.udpDownloadBucket = c.udpAllDownloadSpeedLimit && new DatagramBucket(c.udpAllDownloadSpeedLimit);
    this.taskOverrides = buildTaskOverrides(c);
    this.egressPath = c.egressPathIdMap && c.egressPathIdMap.size > 0 ? EgressPathSelection.forUser(c.egressPathIdMap) : undefined;
  }

  /** The overrides of a task going to `site` (built once per site). */
  overridesFor(site: UserSiteConfig | undefined): UserTaskOverrides | undefined {
    if (!site || (site.resolveStrategy === undefined && site.httpRspHeadTimeoutMs === undefined)) return this.taskOverrides;
    if (!this.siteOverrides.has(site.id)) this.siteOverrides.set(site.id, buildTaskOverrides(this.config, site));
    return this.siteOverrides.get(site.id);
  }

  get name(): string {
    return this.config.name;
  }

  statsFor(server: string, request: UserRequestType = 'http_forward'): UserStats {
    let byRequest = this.stats.get(server);
    if (!byRequest) {
      byRequest = new Map();
      this.stats.set(server, byRequest);
    }
    let s = byRequest.get(request);
    if (!s) {
      s = { server, request, stats: new UserStats() };
      byRequest.set(request, s);
    }
    return s.stats;
  }

  upstreamStatsFor(escaper: string): UserStats {
    let s = this.upstream.get(escaper);
    if (!s) {
      s = new UserStats();
      this.upstream.set(escaper, s);
    }
    return s;
  }

  siteStatsFor(siteId: string, server: string): UserStats {
    const key = `${siteId}|${server}`;
    let s = this.sites.get(key);
    if (!s) {
      s = { siteId, server, stats: new UserStats() };
      this.sites.set(key, s);
    }
    return s.stats;
  }

  /** Every counter set of this user, as the StatsD emitter reads them (user.*, user.upstream.*, user.site.*). */
  forEachStats(cb: (entry: UserStatsEntry) => void): void {
    const base = { userGroup: this.groupName, user: this.name, userType: this.type };
    for (const byRequest of this.stats.values()) for (const s of byRequest.values()) {
      const connection = s.request.startsWith('socks') ? 'socks' : 'http';
      cb({ ...base, server: s.server, request: s.request, connection, stats: s.stats });
    }
    for (const [escaper, stats] of this.upstream) cb({ ...base, escaper, stats });
    for (const s of this.sites.values()) {
      if (this.config.explicitSites.find((x) => x.id === s.siteId)?.emitStats) cb({ ...base, server: s.server, siteId: s.siteId, stats: s.stats });
    }
  }

  isExpired(now?: number): boolean {
    // the clock is read only for a user that has an expiry
    const at = this.config.expireAt;
    return at !== undefined && (now ?? Date.now()) >= at;
  }

  /**
   * Check a password against the user's token. Successful checks of slow (crypt) tokens are remembered by a
   * digest of the password, so a keep-alive client is hashed once, not per request.
   */
  checkPassword(password: Buffer): boolean {
    const token = this.config.token;
    if (!tokenIsSlow(token)) return verifyToken(token, password);
    const key = createHash('sha256').update(password).digest('base64');
    if (this.verified.has(key)) return true;
    if (!verifyToken(token, password)) return false;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.values().next().value!);
    this.verified.add(key);
    return true;
  }

  /** The explicit site `host` belongs to, if any (exact, then child, then subnet). */
  siteOf(host: string): UserSiteConfig | undefined {
    const sites = this.config.explicitSites;
    if (sites.length === 0) return undefined;
    const h = host.toLowerCase();
    for (const s of sites) if (s.exact.includes(h)) return s;
    for (const s of sites) for (const d of s.child) if (h.endsWith(`.${d}`)) return s;
    for (const s of sites) if (s.subnet && s.subnet.lookup(h) !== undefined) return s;
    return undefined;
  }
}
