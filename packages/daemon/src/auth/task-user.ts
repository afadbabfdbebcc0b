/**
 * What a task carries from its user for the code after the auth step: escapers (resolve_strategy and
 * resolve_redirection override the escaper's own; tcp_connect caps the escaper's; tcp_remote_keepalive and
 * tcp_remote_misc_opts.no_delay go on the upstream socket, udp_remote_misc_opts' TTL on remote UDP sockets), the relay (task_idle_max_count) and http_proxy
 * (http_upstream_keepalive, http_rsp_header_recv_timeout). Built once per user (and explicit site), so the
 * auth step only hands over a reference.
 */
import type { HttpKeepalive, ResolveRedirection, ResolveRedirectionTarget, ResolveStrategy, TcpConnect, UdpMiscOpts } from '@sluice/common';
import type { DirectConnectOptions } from '../escape/direct-connect.js';
import type { TaskContext } from '../task/task.js';
import type { UserConfig, UserSiteConfig } from './user-config.js';

export interface UserTaskOverrides {
  readonly strategy: ResolveStrategy | undefined;
  readonly redirection: ResolveRedirection | undefined;
  readonly tcpConnect: TcpConnect | undefined;
  readonly keepAlive: { readonly enable: boolean; readonly idleMs: number } | undefined;
  readonly noDelay: boolean | undefined;
  /** replaces the server's task_idle_max_count */
  readonly idleMaxCount: number | undefined;
  /** the site's, else the user's; replaces the server's rsp_header_recv_timeout */
  readonly httpRspHeadTimeoutMs: number | undefined;
  readonly httpUpstreamKeepalive: HttpKeepalive | undefined;
  /** udp_remote_misc_opts: the escaper's remote UDP sockets take the smaller TTL / hop limit */
  readonly udpRemoteMiscOpts: UdpMiscOpts | undefined;
}

/** The older name, kept for the task field `userResolve`. */
export type UserResolveOverrides = UserTaskOverrides;

/** The overrides of `c` (for a task to `site` when given); undefined when the user overrides nothing. */
export function buildTaskOverrides(c: UserConfig, site?: UserSiteConfig): UserTaskOverrides | undefined {
  const ka = c.tcpRemoteKeepalive;
  const o: UserTaskOverrides = {
    strategy: site?.resolveStrategy ?? c.resolveStrategy,
    redirection: c.resolveRedirection,
    tcpConnect: c.tcpConnect,
    keepAlive: ka ? { enable: ka.enabled, idleMs: ka.idleTimeMs } : undefined,
    noDelay: c.tcpRemoteMiscOpts?.noDelay,
    idleMaxCount: c.taskIdleMaxCount,
    httpRspHeadTimeoutMs: site?.httpRspHeadTimeoutMs ?? c.httpRspHeadTimeoutMs,
    httpUpstreamKeepalive: c.httpUpstreamKeepalive,
    udpRemoteMiscOpts: c.udpRemoteMiscOpts,
  };
  for (const v of Object.values(o)) if (v !== undefined) return Object.freeze(o);
  return undefined;
}

/** The user's redirection in front of the escaper's: only `lookup` is used by the connect path. */
function chained(user: ResolveRedirection, escaper: ResolveRedirection | undefined): ResolveRedirection {
  return {
    isEmpty: false,
    lookup: (domain: string): ResolveRedirectionTarget | undefined => user.lookup(domain) ?? escaper?.lookup(domain),
  } as unknown as ResolveRedirection;
}

/**
 * Connect options for `task`: the escaper's, with the task user's overrides (no copy when none). The user's
 * tcp_connect can only tighten the escaper's (fewer tries, shorter attempts), as g3 limits it by the escaper's.
 */
export function userConnectOptions(opts: DirectConnectOptions, task: TaskContext): DirectConnectOptions {
  const u = task.userResolve;
  if (!u) return opts;
  const tc = u.tcpConnect;
  const tuneSocket = u.strategy !== undefined || tc !== undefined || u.keepAlive !== undefined || u.noDelay !== undefined;
  if (!tuneSocket && !u.redirection) return opts;
  const t = opts.tuning;
  return {
    ...opts,
    tuning: tuneSocket
      ? {
        ...t,
        queryStrategy: u.strategy?.query ?? t.queryStrategy,
        pick: u.strategy?.pick ?? t.pick,
        maxAttempts: tc ? Math.min(t.maxAttempts, tc.maxTries) : t.maxAttempts,
        eachTimeoutMs: tc ? Math.min(t.eachTimeoutMs, tc.eachTimeoutMs) : t.eachTimeoutMs,
        keepAlive: u.keepAlive ?? t.keepAlive,
        noDelay: u.noDelay ?? t.noDelay,
      }
      : t,
    redirect: u.redirection ? chained(u.redirection, opts.redirect) : opts.redirect,
  };
}
