/**
 * The auth step of the proxy servers: who is the client (credentials → user), and may this user do this
 * request (expiry, blocking, ACLs, rate and alive limits). Servers call one function at the start of each
 * task and act on the answer; everything user-shaped lives here.
 *
 * HTTP: `authorizeHttpRequest` per request. A keep-alive connection remembers the Proxy-Authorization it
 * last verified and the user it gave, so only a changed header (or a changed user set) is checked again.
 * SOCKS: `authenticateUser` once per connection (RFC 1929), then `authorizeTask` per command.
 */
import { DEFAULT_USER_AUDIT } from './user-audit.js';
import { applyUsernameEgress } from './username-egress.js';
import type { Socket } from 'node:net';
import { isForbidden, SluiceError, type ProxyRequestType } from '@sluice/common';
import { EgressPathSelection } from '../escape/egress-path.js';
import type { Runtime } from '../runtime/runtime.js';
import type { UserRequestType, UserStats } from '../stat/user-stats.js';
import type { TaskContext, Upstream } from '../task/task.js';
import type { BasicUserGroup } from './group.js';
import type { ServerAuthConfig } from './server-auth-config.js';
import { throttleClientSocket } from './speed-limit.js';
import { applyClientTcpOpts } from './user-socket-opts.js';
import type { User } from './user.js';

export interface ClientFacts {
  clientIp: string;
}

/** What a server needs to answer a refused task. */
export interface AuthDenied {
  readonly error: SluiceError;
  /** HTTP status (407 for missing/bad credentials) */
  readonly status: number;
  /** extra response header lines (`Proxy-Authenticate`), each ending in CRLF */
  readonly headers: string;
}

export type AuthenticateResult = { readonly ok: true; readonly user: User } | { readonly ok: false; readonly error: SluiceError };

function group(runtime: Runtime, name: string): BasicUserGroup | undefined {
  return runtime.gen?.maps.user_group.get(name) as BasicUserGroup | undefined;
}

/**
 * Check a user name and password against a user group (SOCKS5 RFC 1929, or any server with its own
 * credentials). Unknown names fall back to the group's anonymous user when it has one. Passwords are
 * never logged or kept beyond a digest of successful checks.
 */
export async function authenticateUser(
  runtime: Runtime, groupName: string, username: string, password: string | Buffer, client: ClientFacts,
): Promise<AuthenticateResult> {
  const g = group(runtime, groupName);
  if (!g) return { ok: false, error: new SluiceError('CLIENT_AUTH_FAILED', `user group '${groupName}' does not exist`) };
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const r = await g.authenticate(username, pw);
  void client;
  if (r.ok) return r;
  if (r.why === 'unknown_user') {
    const anon = g.anonymousUser();
    if (anon) return { ok: true, user: anon };
  }
  const why = r.why === 'unavailable' ? 'the user directory is unavailable' : r.why === 'unknown_user' ? 'unknown user' : 'wrong password';
  return { ok: false, error: new SluiceError('CLIENT_AUTH_FAILED', `authentication failed for user '${username}': ${why}`) };
}

/** The anonymous user of a group (a client that sent no credentials), if it has one. */
export function anonymousUser(runtime: Runtime, groupName: string): User | undefined {
  return group(runtime, groupName)?.anonymousUser();
}

// ---- per-task authorization -----------------------------------------------------------------------------

export interface TaskAuthInput {
  readonly serverName: string;
  /** null for a stream server's task (tcp_stream, tls_stream, sni_proxy): counted as `tcp_connect`, and no
   * proxy_request_filter applies since it names proxy request types only */
  readonly requestType: ProxyRequestType | null;
  readonly clientIp: string;
  /** undefined when the task has no destination yet (SOCKS UDP ASSOCIATE): destination rules are skipped */
  readonly upstream: Upstream | undefined;
  readonly userAgent?: string | undefined;
  /** first task of this user on this client connection (connection_rate_limit, user.connection.total) */
  readonly newConnection: boolean;
  /** the client socket: the user's speed limits are applied to it */
  readonly clientSocket?: Socket;
}

/** g3's `request` metric tag of each request type */
const REQUEST_TAG: Readonly<Record<ProxyRequestType, UserRequestType>> = {
  HttpForward: 'http_forward',
  HttpsForward: 'https_forward',
  FtpOverHttp: 'ftp_over_http',
  HttpConnect: 'http_connect',
  SocksTcpConnect: 'socks_tcp_connect',
  SocksUdpAssociate: 'socks_udp_associate',
};

function deny(stats: UserStats, field: keyof UserStats, code: 'FORBIDDEN_BY_RULE' | 'FORBIDDEN_DESTINATION' | 'CLIENT_USER_BLOCKED' | 'CLIENT_RATE_LIMITED', why: string): SluiceError {
  (stats[field] as number)++;
  return new SluiceError(code, why);
}

/**
 * What a client connection remembers between its tasks, so a keep-alive request repeats no lookup: the last
 * verified Proxy-Authorization and its user (HTTP), the user's counters for the last server and request type,
 * and whether the client socket already carries this user's speed limits and socket options.
 */
export class ConnAuthMemo {
  header: string | undefined = undefined;
  generation = -1;
  user: User | undefined = undefined;
  statsUser: User | undefined = undefined;
  statsServer = '';
  statsTag: UserRequestType | undefined = undefined;
  stats: UserStats | undefined = undefined;
  finisher: ((t: TaskContext) => void) | undefined = undefined;
  socketUser: User | undefined = undefined;
  /** the user's dst_host_filter_set answer for the last host (a user's config never changes in place) */
  hostUser: User | undefined = undefined;
  host = '';
  hostForbidden = false;
}

function hostForbidden(user: User, filter: NonNullable<User['config']['dstHostFilter']>, host: string, memo: ConnAuthMemo | undefined): boolean {
  if (memo && memo.hostUser === user && memo.host === host) return memo.hostForbidden;
  const forbidden = isForbidden(filter.check(host));
  if (memo) {
    memo.hostUser = user;
    memo.host = host;
    memo.hostForbidden = forbidden;
  }
  return forbidden;
}

function countersOf(user: User, server: string, tag: UserRequestType, memo: ConnAuthMemo | undefined): UserStats {
  if (memo && memo.statsUser === user && memo.statsTag === tag && memo.statsServer === server) return memo.stats!;
  const stats = user.statsFor(server, tag);
  if (memo) {
    memo.statsUser = user;
    memo.statsServer = server;
    memo.statsTag = tag;
    memo.stats = stats;
    memo.finisher = plainFinishers.get(stats) ?? cachedFinisher(user, stats);
  }
  return stats;
}

/**
 * May `user` run this task? Checks in g3's order; on success the task carries the user (name in the task
 * log, user counters at finish, resolve overrides for the escaper). A blocked user is answered only after
 * its `block_and_delay`. Returns null when allowed. `memo` (one per client connection) saves the lookups a
 * connection's next task would repeat; every check still runs per task.
 */
export function authorizeTask(
  user: User, task: TaskContext, input: TaskAuthInput, newConnection = input.newConnection, memo?: ConnAuthMemo,
): SluiceError | null | Promise<SluiceError | null> {
  const c = user.config;
  const stats = countersOf(user, input.serverName, input.requestType ? REQUEST_TAG[input.requestType] : 'tcp_connect', memo);
  task.user = user.name;
  task.userGroup = user.groupName;
  // g3 decides once per task, as the user is found: a skipped task writes none of its records (but the
  // half-close ones, which g3 writes unconditionally)
  if (user.logLimiter && !user.logLimiter.tryTake()) {
    stats.forbiddenLogSkipped++;
    task.skipLog = true;
  }
  if (newConnection) stats.connTotal++;
  if (user.isExpired()) return deny(stats, 'forbiddenUserExpired', 'FORBIDDEN_BY_RULE', `user '${user.name}' has expired`);
  if (c.blockAndDelayMs !== undefined) {
    const blocked = () => deny(stats, 'forbiddenUserBlocked', 'CLIENT_USER_BLOCKED', `user '${user.name}' is blocked`);
    if (c.blockAndDelayMs <= 0) return blocked();
    // the only answer that waits: every other check answers synchronously (no promise per request)
    return new Promise<void>((r) => setTimeout(r, c.blockAndDelayMs).unref()).then(blocked);
  }
  if (c.ingressFilter && isForbidden(c.ingressFilter.check(input.clientIp))) {
    return deny(stats, 'forbiddenSrcBlocked', 'FORBIDDEN_BY_RULE', `client ${input.clientIp} is not allowed for user '${user.name}'`);
  }
  if (input.requestType && c.proxyRequestFilter && isForbidden(c.proxyRequestFilter.check(input.requestType))) {
    return deny(stats, 'forbiddenProtoBanned', 'FORBIDDEN_BY_RULE', `${input.requestType} is not allowed for user '${user.name}'`);
  }
  if (newConnection && user.connLimiter && !user.connLimiter.tryTake()) {
    return deny(stats, 'forbiddenRateLimited', 'CLIENT_RATE_LIMITED', `connection rate limit of user '${user.name}' reached`);
  }
  if (user.requestLimiter && !user.requestLimiter.tryTake()) {
    return deny(stats, 'forbiddenRateLimited', 'CLIENT_RATE_LIMITED', `request rate limit of user '${user.name}' reached`);
  }
  if (c.requestMaxAlive > 0 && user.aliveRequests >= c.requestMaxAlive) {
    return deny(stats, 'forbiddenFullyLoaded', 'CLIENT_RATE_LIMITED', `user '${user.name}' has ${user.aliveRequests} requests alive (request_max_alive)`);
  }
  if (c.userAgentFilter && input.userAgent !== undefined && isForbidden(c.userAgentFilter.check(input.userAgent))) {
    return deny(stats, 'forbiddenUaBlocked', 'FORBIDDEN_BY_RULE', `user agent is not allowed for user '${user.name}'`);
  }
  const up = input.upstream;
  if (up && c.dstPortFilter && isForbidden(c.dstPortFilter.check(up.port))) {
    return deny(stats, 'forbiddenDestDenied', 'FORBIDDEN_DESTINATION', `port ${up.port} is forbidden for user '${user.name}'`);
  }
  if (up && c.dstHostFilter && hostForbidden(user, c.dstHostFilter, up.host, memo)) {
    return deny(stats, 'forbiddenDestDenied', 'FORBIDDEN_DESTINATION', `host ${up.host} is forbidden for user '${user.name}'`);
  }
  // allowed: the task now counts as the user's
  const site = up ? user.siteOf(up.host) : undefined;
  const siteStats = site ? user.siteStatsFor(site.id, input.serverName) : undefined;
  stats.requestTotal++;
  stats.requestAlive++;
  if (siteStats) {
    siteStats.requestTotal++;
    siteStats.requestAlive++;
  }
  user.aliveRequests++;
  task.userResolve = user.overridesFor(site);
  task.userAudit = c.audit ?? DEFAULT_USER_AUDIT;
  task.userLogUriMaxChars = c.logUriMaxChars;
  // g3: the user's egress_path_id_map replaces what the client chose (its selection header)
  if (user.egressPath) {
    const own = task.egressPath;
    task.egressPath = own?.hasUpstreams ? EgressPathSelection.forUser(c.egressPathIdMap!, own) : user.egressPath;
  }
  // speed limits and socket options stay on the socket: set once per (connection, user)
  if (input.clientSocket && (!memo || memo.socketUser !== user)) {
    throttleClientSocket(input.clientSocket, user);
    if (c.tcpClientMiscOpts) applyClientTcpOpts(input.clientSocket, c.tcpClientMiscOpts);
    if (memo) memo.socketUser = user;
  }
  task.onFinish = siteStats
    ? taskFinisher(user, stats, siteStats)
    : (memo?.stats === stats ? memo.finisher! : plainFinishers.get(stats) ?? cachedFinisher(user, stats));
  return null;
}

/**
 * What a finished task gives back to its user: the alive slot, byte counters, upstream counters, and the
 * log_rate_limit decision. Tasks without an explicit site share one function per (user, server, request
 * type) instead of a closure per request.
 */
function taskFinisher(user: User, stats: UserStats, siteStats: UserStats | undefined): (t: TaskContext) => void {
  return (t) => {
    user.aliveRequests--;
    stats.requestAlive--;
    stats.inBytes += t.cRdBytes;
    stats.outBytes += t.cWrBytes;
    if (siteStats) {
      siteStats.requestAlive--;
      siteStats.inBytes += t.cRdBytes;
      siteStats.outBytes += t.cWrBytes;
    }
    if (t.escaper !== undefined && (t.rRdBytes > 0 || t.rWrBytes > 0)) {
      const up = user.upstreamStatsFor(t.escaper);
      up.upstreamInBytes += t.rRdBytes;
      up.upstreamOutBytes += t.rWrBytes;
    }
  };
}

/** Keyed by the user's counters object, which belongs to exactly one user: a live user keeps its finishers. */
const plainFinishers = new WeakMap<UserStats, (t: TaskContext) => void>();

function cachedFinisher(user: User, stats: UserStats): (t: TaskContext) => void {
  const f = taskFinisher(user, stats, undefined);
  plainFinishers.set(stats, f);
  return f;
}

// ---- HTTP ------------------------------------------------------------------------------------------------

/** Per client connection (the key object lives exactly as long as the connection). */
const connAuth = new WeakMap<object, ConnAuthMemo>();

function memoOf(connection: object): ConnAuthMemo {
  let m = connAuth.get(connection);
  if (!m) {
    m = new ConnAuthMemo();
    connAuth.set(connection, m);
  }
  return m;
}
const realmHeaders = new Map<string, string>();

function proxyAuthenticate(realm: string): string {
  let h = realmHeaders.get(realm);
  if (!h) {
    h = `Proxy-Authenticate: Basic realm="${realm.replace(/["\\\r\n]/g, '')}"\r\n`;
    if (realmHeaders.size < 64) realmHeaders.set(realm, h);
  }
  return h;
}

/** 407 with the realm's challenge, counted on the server. */
function authFailed(stats: ServerStatsLike | undefined, auth: ServerAuthConfig, error: SluiceError): AuthDenied {
  if (stats) stats.forbiddenAuthFailed++;
  return { error, status: 407, headers: proxyAuthenticate(auth.realm) };
}

/** Split `user+key=value+...` when the server reads username params; the base name authenticates. */
function splitParams(auth: ServerAuthConfig, raw: string, task: TaskContext): string {
  const p = auth.usernameParams;
  if (!p) return raw;
  const plus = raw.indexOf('+');
  if (plus < 0) return raw;
  const params = new Map<string, string>();
  for (const seg of raw.slice(plus + 1).split('+')) {
    const eq = seg.indexOf('=');
    if (eq > 0) params.set(seg.slice(0, eq), seg.slice(eq + 1));
  }
  task.usernameParams = params;
  return p.realUsername(raw);
}

export interface HttpAuthInput extends TaskAuthInput {
  /** the client connection object (keys the per-connection cache) */
  readonly connection: object;
  readonly proxyAuthorization: string | undefined;
}

/**
 * Authenticate and authorize one HTTP proxy request. Returns the user when the request may go on (the task
 * then carries it), or what to answer: 407 with `Proxy-Authenticate` for missing or bad
 * credentials, 403 for a forbidden user or destination, 429 for a rate limit.
 */
export function authorizeHttpRequest(
  runtime: Runtime, auth: ServerAuthConfig, task: TaskContext, input: HttpAuthInput,
): User | AuthDenied | Promise<User | AuthDenied> {
  const g = group(runtime, auth.userGroup);
  const stats = runtime.server(input.serverName)?.stats;
  if (!g) return authFailed(stats, auth, new SluiceError('CLIENT_AUTH_FAILED', `user group '${auth.userGroup}' does not exist`));
  const header = input.proxyAuthorization;
  const memo = memoOf(input.connection);
  if (header === undefined) {
    const anon = g.anonymousUser();
    if (!anon) return authFailed(stats, auth, new SluiceError('CLIENT_AUTH_REQUIRED', 'proxy authentication required'));
    return authorizeKnownUser(runtime, auth, task, input, anon, header, input.newConnection, stats, memo);
  }
  if (memo.header === header && memo.generation === g.generation) {
    // the keep-alive fast path: the same header as verified before on this connection, nothing to decode,
    // hash or await
    if (task.usernameParams === undefined && auth.usernameParams) splitParams(auth, decodeBasic(header)?.user ?? '', task);
    return authorizeKnownUser(runtime, auth, task, input, memo.user!, header, false, stats, memo);
  }
  return authenticateHttpRequest(runtime, auth, task, input, g, header, memo, stats);
}

/** A header not verified on this connection yet: check the credentials against the group, then authorize. */
async function authenticateHttpRequest(
  runtime: Runtime, auth: ServerAuthConfig, task: TaskContext, input: HttpAuthInput, g: BasicUserGroup, header: string,
  memo: ConnAuthMemo, stats: ServerStatsLike | undefined,
): Promise<User | AuthDenied> {
  const cred = decodeBasic(header);
  if (!cred) return authFailed(stats, auth, new SluiceError('CLIENT_AUTH_FAILED', 'unsupported Proxy-Authorization (Basic expected)'));
  const name = splitParams(auth, cred.user, task);
  const r = await authenticateUser(runtime, auth.userGroup, name, cred.password, { clientIp: input.clientIp });
  if (!r.ok) {
    // the task log names who tried, never with what password
    task.user = name;
    return authFailed(stats, auth, r.error);
  }
  const user = r.user;
  const newConnection = memo.user !== user;
  memo.header = header;
  memo.user = user;
  memo.generation = g.generation;
  return authorizeKnownUser(runtime, auth, task, input, user, header, newConnection, stats, memo);
}

type ServerStatsLike = { forbiddenAuthFailed: number; forbiddenDestDenied: number; forbiddenUserBlocked: number };

function authorizeKnownUser(
  runtime: Runtime, auth: ServerAuthConfig, task: TaskContext, input: HttpAuthInput, user: User, header: string | undefined,
  newConnection: boolean, stats: ServerStatsLike | undefined, memo: ConnAuthMemo,
): User | AuthDenied | Promise<User | AuthDenied> {
  if (header !== undefined && auth.usernameParams) {
    const escaper = (runtime.server(input.serverName)?.config as { escaper?: string } | undefined)?.escaper;
    const bad = applyUsernameEgress(auth, decodeBasic(header)?.user ?? '', 'http', escaper, task);
    if (bad) return { error: bad, status: 400, headers: '' };
  }
  const err = authorizeTask(user, task, input, newConnection, memo);
  return err instanceof Promise ? err.then((e) => httpAnswer(user, e, stats)) : httpAnswer(user, err, stats);
}

function httpAnswer(user: User, err: SluiceError | null, stats: ServerStatsLike | undefined): User | AuthDenied {
  if (!err) return user;
  if (err.code === 'FORBIDDEN_DESTINATION' && stats) stats.forbiddenDestDenied++;
  if (err.code === 'CLIENT_USER_BLOCKED' && stats) stats.forbiddenUserBlocked++;
  return { error: err, status: err.httpStatus, headers: '' };
}

/** `Basic base64(user:password)` → parts; null for another scheme or bad encoding. */
function decodeBasic(header: string): { user: string; password: Buffer } | null {
  const h = header.trim();
  if (h.length < 7 || h.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const raw = Buffer.from(h.slice(6).trim(), 'base64');
  const colon = raw.indexOf(0x3a);
  if (colon < 0) return null;
  return { user: raw.toString('utf8', 0, colon), password: raw.subarray(colon + 1) };
}
