/**
 * A task is one unit of proxied work (an HTTP request, a CONNECT tunnel, a SOCKS connect...). It carries what the
 * task log needs and is finished exactly once, which writes the log line and settles the counters.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { SluiceError, TaskReason } from '@sluice/common';

/** Where a task wants to go. */
export interface Upstream {
  host: string;
  port: number;
  /** 4 or 6 when `host` is an IP literal, 0 for a domain. */
  ipFamily: 0 | 4 | 6;
}

export type TaskType = 'TcpConnect' | 'HttpForward' | 'FtpOverHttp' | 'UdpAssociate' | 'UdpConnect';
export type TaskStage = 'Created' | 'Preparing' | 'Connecting' | 'Connected' | 'Replying' | 'LoggedIn' | 'Relaying' | 'Finished';

/** Random bytes for 256 ids, refilled when used up: one CSPRNG call per 256 tasks. */
const idPool = Buffer.allocUnsafeSlow(16 * 256);
let idNext = idPool.length;

/**
 * A random (version 4) UUID written as g3 logs it: 32 hex digits, no dashes. Built straight from pooled random
 * bytes: `randomUUID().replaceAll('-', '')` cost about 1.5 µs per logged task in the bench profile.
 */
export function newTaskId(): string {
  if (idNext === idPool.length) {
    randomFillSync(idPool);
    idNext = 0;
  }
  const i = idNext;
  idNext += 16;
  idPool[i + 6] = (idPool[i + 6]! & 0x0f) | 0x40; // version 4
  idPool[i + 8] = (idPool[i + 8]! & 0x3f) | 0x80; // RFC 4122 variant
  return idPool.toString('hex', i, i + 16);
}

export function formatUpstream(u: Upstream): string {
  return u.ipFamily === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

export function formatSockAddr(ip: string | undefined, port: number | undefined): string | undefined {
  if (ip === undefined || port === undefined) return undefined;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Everything the task log of any task type can carry; fields left undefined are omitted from the log. */
export class TaskContext {
  private taskId: string | undefined;
  /** Made on first use: with logging off, most tasks never need one (a UUID per request is measurable). */
  get id(): string {
    return (this.taskId ??= newTaskId());
  }
  /** Wall clock at creation (ms since epoch), for `start_at`. */
  readonly startAt = Date.now();
  /** Monotonic clock at creation (ms), the origin of every duration. */
  readonly t0 = performance.now();
  stage: TaskStage = 'Created';
  user: string | undefined;
  userGroup: string | undefined;
  /** g3 username params (`user+key=value+...`) of the authenticated name, for route escapers; undefined if none */
  usernameParams: ReadonlyMap<string, string> | undefined;
  /** per-user overrides the escapers apply (set by auth/ from the user's config) */
  userResolve: import('../auth/task-user.js').UserResolveOverrides | undefined;
  /** the authenticated user's `audit` block (set with the user; g3's defaults when the user has none) */
  userAudit: import('../auth/user-audit.js').UserAuditConfig | undefined;
  /** the authenticated user's log_uri_max_chars: replaces the auditor's in interception records, as in g3 */
  userLogUriMaxChars: number | undefined;
  /** the auditor a comply_audit escaper put in place of the server's for this task */
  auditor: string | undefined;
  /** called once as the task finishes, before its log line (per-user counters, log_rate_limit) */
  onFinish: ((t: TaskContext) => void) | undefined;
  /** set by onFinish when the user's log_rate_limit drops this task's log line */
  skipLog = false;
  escaper: string | undefined;
  upstream: Upstream | undefined;
  /** Set when the task ends in an error. */
  error: SluiceError | undefined;
  /** Overrides the reason derived from `error` (e.g. ClosedByClient after a clean relay). */
  reason: TaskReason | undefined;
  /** ms since t0 when the task was ready to relay (connected / response head sent). */
  readyTime: number | undefined;
  /** ms since t0 when the task was handed to the escaper (after the request was read and checked). */
  waitTime: number | undefined;
  // connection details from the escaper
  nextBindIp: string | undefined;
  nextBoundAddr: string | undefined;
  nextPeerAddr: string | undefined;
  tcpConnectTries = 0;
  tcpConnectSpend: number | undefined;
  /** What the client asked for about the way out (set by servers, read by escapers). */
  egressPath: import('../escape/egress-path.js').EgressPathSelection | undefined;
  // byte counters: c = client side, r = remote side; rd = read by us, wr = written by us
  cRdBytes = 0;
  cWrBytes = 0;
  rRdBytes = 0;
  rWrBytes = 0;
  finished = false;
  /** The server's task events (Created/Connected/Periodic/...); undefined for tasks of servers without them. */
  events: import('./task-events.js').TaskEvents | undefined;
  /** Created was logged already (a server may log it before markWait) */
  eventsCreated = false;
  /** markReady ran once already (Connected is logged once) */
  eventsConnected = false;
  /** the task is in its server's Periodic set */
  eventsRelaying = false;

  constructor(
    readonly taskType: TaskType,
    readonly serverName: string,
    readonly serverType: string,
    readonly clientAddr: string,
    readonly serverAddr: string,
  ) {}

  elapsed(): number {
    return performance.now() - this.t0;
  }

  /** The task was read and checked and goes to its escaper now: g3's Created record is written here. */
  markWait(): void {
    this.waitTime = this.elapsed();
    if (this.events?.config.onCreated) this.events.created(this);
  }

  /** The task is connected and relays from now on: g3's Connected record, and Periodic ones from here. */
  markReady(): void {
    this.readyTime = this.elapsed();
    if (this.events?.active) this.events.connected(this);
  }
}
