/**
 * One user's configuration, as g3proxy reads it from `static_users`, `anonymous_user` and dynamic sources
 * (YAML and JSON use the same keys; g3proxy/src/config/auth/user). Keys are normalised (lowercase, `-` as
 * `_`) and unknown keys are errors, as in g3. Values use the shared g3 value parsers.
 */
import { parseUserAudit, type UserAuditConfig } from './user-audit.js';
import {
  asBool, asString, asUsize, isMap, parseDuration, parseGlobalDatagramLimit, parseGlobalStreamLimit, parseHostFilterSet,
  parseHttpKeepalive, parseIpAddr, parseIpNetwork, parseDomain, parseNetworkAcl, parsePortAcl, parseProxyRequestFilter,
  parseRateLimitQuota, parseResolveRedirection, parseResolveStrategy, parseTcpConnect, parseTcpKeepalive,
  parseTcpMiscOpts, parseTcpSpeedLimit, parseUdpMiscOpts, parseUdpSpeedLimit, parseUserAgentFilter, ValueError,
  within,
  type GlobalDatagramLimit, type GlobalStreamLimit, type HostFilterSet, type NetworkAcl, type PortAcl, type ProxyRequestFilter, type RateLimitQuota,
  type ResolveRedirection, type ResolveStrategy, type TcpSpeedLimit, type UdpSpeedLimit, type UserAgentFilter,
  type HttpKeepalive, type TcpConnect, type TcpKeepalive, type TcpMiscOpts, type UdpMiscOpts,
} from '@sluice/common';
import { parseToken, SKIP_TOKEN, type PasswordToken } from './token.js';

/** A site of `explicit_sites`: requests to it are counted apart (user-site metrics). */
export interface UserSiteConfig {
  readonly id: string;
  readonly exact: readonly string[];
  readonly child: readonly string[];
  readonly subnet: NetworkAcl | undefined;
  readonly emitStats: boolean;
  readonly durationStats: boolean;
  readonly resolveStrategy: ResolveStrategy | undefined;
  readonly httpRspHeadTimeoutMs: number | undefined;
}

/** One `match_by_facts` entry (facts user groups pick a user by what is known of the client). */
export type UserFact =
  | { readonly kind: 'ip'; readonly ip: string }
  | { readonly kind: 'net'; readonly acl: NetworkAcl }
  | { readonly kind: 'exact_domain'; readonly domain: string }
  | { readonly kind: 'child_domain'; readonly domain: string };

export interface UserConfig {
  readonly name: string;
  readonly token: PasswordToken;
  /** ms since epoch; undefined = never */
  readonly expireAt: number | undefined;
  /** the user is blocked: answer forbidden after this delay (ms) */
  readonly blockAndDelayMs: number | undefined;
  readonly ingressFilter: NetworkAcl | undefined;
  readonly proxyRequestFilter: ProxyRequestFilter | undefined;
  readonly dstHostFilter: HostFilterSet | undefined;
  readonly dstPortFilter: PortAcl | undefined;
  readonly userAgentFilter: UserAgentFilter | undefined;
  readonly tcpSockSpeedLimit: TcpSpeedLimit | undefined;
  readonly udpSockSpeedLimit: UdpSpeedLimit | undefined;
  readonly tcpAllUploadSpeedLimit: GlobalStreamLimit | undefined;
  readonly tcpAllDownloadSpeedLimit: GlobalStreamLimit | undefined;
  readonly udpAllUploadSpeedLimit: GlobalDatagramLimit | undefined;
  readonly udpAllDownloadSpeedLimit: GlobalDatagramLimit | undefined;
  /** caps the direct escaper's own tcp_connect for this user's tasks */
  readonly tcpConnect: TcpConnect | undefined;
  readonly tcpRemoteKeepalive: TcpKeepalive | undefined;
  readonly tcpRemoteMiscOpts: TcpMiscOpts | undefined;
  readonly tcpClientMiscOpts: TcpMiscOpts | undefined;
  readonly udpRemoteMiscOpts: UdpMiscOpts | undefined;
  readonly udpClientMiscOpts: UdpMiscOpts | undefined;
  /** replaces http_proxy's http_forward_upstream_keepalive for this user's requests */
  readonly httpUpstreamKeepalive: HttpKeepalive | undefined;
  readonly connectionRateLimit: RateLimitQuota | undefined;
  readonly requestRateLimit: RateLimitQuota | undefined;
  /** 0 = unlimited */
  readonly requestMaxAlive: number;
  readonly resolveStrategy: ResolveStrategy | undefined;
  readonly resolveRedirection: ResolveRedirection | undefined;
  readonly logRateLimit: RateLimitQuota | undefined;
  readonly logUriMaxChars: number | undefined;
  /** the `audit` block; undefined: g3's defaults (no protocol inspection) */
  readonly audit: UserAuditConfig | undefined;
  readonly taskIdleMaxCount: number | undefined;
  readonly socksUseUdpAssociate: boolean;
  readonly httpRspHeadTimeoutMs: number | undefined;
  readonly explicitSites: readonly UserSiteConfig[];
  /** egress_path_id_map: escaper name → string id (g3's "string id" egress path selection) */
  readonly egressPathIdMap: ReadonlyMap<string, string> | undefined;
  readonly matchByFacts: readonly UserFact[];
  /** accepted with g3's syntax and kept as parsed (egress path maps) */
  readonly socketOptions: Readonly<Record<string, unknown>>;
  /** the value as written (for the control socket's listings and the cache file) */
  readonly raw: Record<string, unknown>;
}

const normalizeKey = (k: string): string => k.toLowerCase().replace(/-/g, '_');

/** A short description of a value for messages. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return typeof v === 'string' ? `the string '${v.slice(0, 60)}'` : `the ${typeof v} ${String(v)}`;
}

/** g3's key walk: normalised keys, unknown keys rejected, errors located at the key as written. */
function forEachKey(map: Record<string, unknown>, what: string, handlers: Record<string, (v: unknown) => void>): void {
  for (const [key, value] of Object.entries(map)) {
    const handler = handlers[normalizeKey(key)];
    if (!handler || !Object.hasOwn(handlers, normalizeKey(key))) throw new ValueError(`invalid key '${key}' in ${what}`, [key]);
    within(key, () => handler(value));
  }
}

function rfc3339(v: unknown): number {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v)) {
    throw new ValueError(`expire must be an RFC 3339 date-time like 2030-01-01T00:00:00Z, got ${describe(v)}`);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new ValueError(`invalid date-time '${v}'`);
  return t;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function parseSite(v: unknown): UserSiteConfig {
  if (!isMap(v)) throw new ValueError(`explicit site must be a map, got ${describe(v)}`);
  let id = '';
  const exact: string[] = [];
  const child: string[] = [];
  const nets: unknown[] = [];
  let emitStats = false;
  let durationStats = false;
  let resolveStrategy: ResolveStrategy | undefined;
  let rspTimeout: number | undefined;
  forEachKey(v, 'explicit site', {
    id: (x) => (id = asString(x)),
    exact_match: (x) => list(x).forEach((h, i) => within(i, () => exact.push(String(parseHostText(h))))),
    child_match: (x) => list(x).forEach((d, i) => within(i, () => child.push(parseDomain(d)))),
    subnet_match: (x) => list(x).forEach((n, i) => within(i, () => { parseIpNetwork(n); nets.push(n); })),
    emit_stats: (x) => (emitStats = asBool(x)),
    duration_stats: (x) => (durationStats = x !== false && x !== null),
    resolve_strategy: (x) => (resolveStrategy = parseResolveStrategy(x)),
    tls_client: () => undefined,
    http_rsp_header_recv_timeout: (x) => (rspTimeout = parseDuration(x)),
  });
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new ValueError('explicit site needs an id made of letters, digits, _ . -');
  return Object.freeze({
    id, exact, child, emitStats, durationStats, resolveStrategy, httpRspHeadTimeoutMs: rspTimeout,
    subnet: nets.length ? parseNetworkAcl(nets, 'plain') : undefined,
  });
}

function parseHostText(v: unknown): string {
  if (typeof v !== 'string') throw new ValueError(`host must be a string, got ${describe(v)}`);
  const ip = (() => { try { return parseIpAddr(v); } catch { return null; } })();
  return ip ?? parseDomain(v);
}

function parseFact(v: unknown): UserFact {
  let kind: string;
  let value: unknown;
  if (typeof v === 'string') {
    const colon = v.indexOf(':');
    if (colon < 0) throw new ValueError(`fact '${v}' must be written 'kind:value' (ip, net, domain, child-domain)`);
    kind = v.slice(0, colon);
    value = v.slice(colon + 1);
  } else if (isMap(v) && Object.keys(v).length === 1) {
    [kind, value] = Object.entries(v)[0]!;
  } else throw new ValueError(`fact must be a one-key map or a 'kind:value' string, got ${describe(v)}`);
  switch (kind.toLowerCase().replace(/-/g, '_')) {
    case 'ip': return { kind: 'ip', ip: parseIpAddr(value) };
    case 'net': case 'network': return { kind: 'net', acl: parseNetworkAcl([value], 'plain') };
    case 'domain': case 'exact_domain': return { kind: 'exact_domain', domain: parseDomain(value) };
    case 'child_domain': return { kind: 'child_domain', domain: parseDomain(value) };
    default: throw new ValueError(`unknown fact kind '${kind}' (ip, net, domain, exact-domain, child-domain)`);
  }
}

/** `{<escaper name>: <id>}`; the id is a string (a number is taken as its decimal text, as g3's YAML reader does). */
function parseEgressPathIdMap(v: unknown): ReadonlyMap<string, string> {
  if (!isMap(v)) throw new ValueError(`egress_path_id_map must be a map of escaper name to id, got ${describe(v)}`);
  const m = new Map<string, string>();
  for (const [escaper, id] of Object.entries(v)) {
    if (escaper === '') throw new ValueError('egress_path_id_map: empty escaper name');
    if (typeof id === 'string' && id !== '') m.set(escaper, id);
    else if (typeof id === 'number' && Number.isInteger(id) && id >= 0) m.set(escaper, String(id));
    else throw new ValueError(`egress_path_id_map.${escaper} must be a non-empty string id, got ${describe(id)}`);
  }
  return m;
}

/**
 * Parse one user. `anonymous` makes the token `null` whatever was written (g3's set_no_password for the
 * anonymous and unmanaged users).
 */
export function parseUserConfig(v: unknown, anonymous = false): UserConfig {
  if (!isMap(v)) throw new ValueError(`user must be a map, got ${describe(v)}`);
  const c: Record<string, unknown> = { token: undefined, requestMaxAlive: 0, socksUseUdpAssociate: false };
  const sock: Record<string, unknown> = {};
  const sites: UserSiteConfig[] = [];
  const facts: UserFact[] = [];
  const set = (field: string, parse: (x: unknown) => unknown) => (x: unknown) => (c[field] = parse(x));
  const keep = (field: string, parse: (x: unknown) => unknown) => (x: unknown) => (sock[field] = parse(x));
  const tcpSock = set('tcpSockSpeedLimit', parseTcpSpeedLimit);
  const udpSock = set('udpSockSpeedLimit', parseUdpSpeedLimit);
  const connRate = set('connectionRateLimit', parseRateLimitQuota);
  const reqRate = set('requestRateLimit', parseRateLimitQuota);
  const reqAlive = set('requestMaxAlive', asUsize);
  const ingress = set('ingressFilter', (x) => parseNetworkAcl(x, 'ingress'));
  const logRate = set('logRateLimit', parseRateLimitQuota);
  const uriMax = set('logUriMaxChars', asUsize);
  let sawToken = false;
  forEachKey(v, 'user', {
    name: set('name', asString),
    token: (x) => {
      sawToken = true;
      c.token = parseTokenValue(x);
    },
    expire: set('expireAt', rfc3339),
    block_and_delay: set('blockAndDelayMs', parseDuration),
    tcp_connect: set('tcpConnect', parseTcpConnect),
    tcp_sock_speed_limit: tcpSock, tcp_conn_speed_limit: tcpSock, tcp_conn_limit: tcpSock,
    udp_sock_speed_limit: udpSock, udp_relay_speed_limit: udpSock, udp_relay_limit: udpSock,
    tcp_all_upload_speed_limit: set('tcpAllUploadSpeedLimit', parseGlobalStreamLimit),
    tcp_all_download_speed_limit: set('tcpAllDownloadSpeedLimit', parseGlobalStreamLimit),
    udp_all_upload_speed_limit: set('udpAllUploadSpeedLimit', parseGlobalDatagramLimit),
    udp_all_download_speed_limit: set('udpAllDownloadSpeedLimit', parseGlobalDatagramLimit),
    tcp_remote_keepalive: set('tcpRemoteKeepalive', parseTcpKeepalive),
    tcp_remote_misc_opts: set('tcpRemoteMiscOpts', parseTcpMiscOpts),
    udp_remote_misc_opts: set('udpRemoteMiscOpts', parseUdpMiscOpts),
    tcp_client_misc_opts: set('tcpClientMiscOpts', parseTcpMiscOpts),
    udp_client_misc_opts: set('udpClientMiscOpts', parseUdpMiscOpts),
    http_upstream_keepalive: set('httpUpstreamKeepalive', parseHttpKeepalive),
    http_rsp_header_recv_timeout: set('httpRspHeadTimeoutMs', parseDuration),
    connection_rate_limit: connRate, tcp_conn_rate_limit: connRate, tcp_conn_limit_quota: connRate,
    request_rate_limit: reqRate, request_limit_quota: reqRate,
    request_max_alive: reqAlive, request_alive_max: reqAlive,
    ingress_network_filter: ingress, ingress_net_filter: ingress,
    proxy_request_filter: set('proxyRequestFilter', parseProxyRequestFilter),
    dst_host_filter_set: set('dstHostFilter', parseHostFilterSet),
    dst_port_filter: set('dstPortFilter', parsePortAcl),
    http_user_agent_filter: set('userAgentFilter', parseUserAgentFilter),
    resolve_strategy: set('resolveStrategy', parseResolveStrategy),
    resolve_redirection: set('resolveRedirection', parseResolveRedirection),
    log_rate_limit: logRate, log_limit_quota: logRate,
    log_uri_max_chars: uriMax, uri_log_max_chars: uriMax,
    task_idle_max_count: set('taskIdleMaxCount', (x) => {
      if (typeof x !== 'number' || !Number.isInteger(x)) throw new ValueError(`task_idle_max_count must be an integer, got ${describe(x)}`);
      return x;
    }),
    socks_use_udp_associate: set('socksUseUdpAssociate', asBool),
    explicit_sites: (x) => {
      if (!Array.isArray(x)) throw new ValueError(`explicit_sites must be a list, got ${describe(x)}`);
      x.forEach((s, i) => within(i, () => {
        const site = parseSite(s);
        if (sites.some((o) => o.id === site.id)) throw new ValueError(`duplicate explicit site id '${site.id}'`);
        sites.push(site);
      }));
    },
    match_by_facts: (x) => list(x).forEach((f, i) => within(i, () => facts.push(parseFact(f)))),
    audit: set('audit', parseUserAudit),
    egress_path_id_map: set('egressPathIdMap', parseEgressPathIdMap),
    egress_path_value_map: keep('egress_path_value_map', (x) => x),
  });
  if (typeof c.name !== 'string' || c.name === '') throw new ValueError('user needs a name');
  if (!sawToken) c.token = parseToken(undefined);
  if (anonymous) c.token = SKIP_TOKEN;
  return Object.freeze({
    ...(c as unknown as UserConfig),
    explicitSites: Object.freeze(sites),
    matchByFacts: Object.freeze(facts),
    socketOptions: Object.freeze(sock),
    raw: v as Record<string, unknown>,
  });
}

function parseTokenValue(x: unknown): PasswordToken {
  try {
    return parseToken(x);
  } catch (e) {
    throw new ValueError((e as Error).message);
  }
}

/** A list of users (static_users, a source's JSON array), names unique. */
export function parseUserList(v: unknown): UserConfig[] {
  if (!Array.isArray(v)) throw new ValueError(`users must be a list, got ${describe(v)}`);
  const seen = new Set<string>();
  return v.map((u, i) =>
    within(i, () => {
      const user = parseUserConfig(u);
      if (seen.has(user.name)) throw new ValueError(`duplicate user '${user.name}'`);
      seen.add(user.name);
      return user;
    }),
  );
}
