/**
 * `route_query`: ask an external agent over UDP which escaper a task should take. The query is a msgpack map
 * `{id: <16-byte uuid>, user, host[, client_ip]}`, the answer `{id, nodes: name | [names], ttl}`. Answers are
 * cached per (user, host[, client ip]) for `ttl` (0 → protective_cache_ttl, capped at maximum_cache_ttl) and kept
 * for cache_vanish_wait more while a refresh is asked for. A task waits at most cache_request_timeout; without
 * an answer, or when the answer names nothing in query_allowed_next, it takes fallback_node.
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { parseDuration, parsePickPolicy, parseUpstreamAddr, type PickPolicy } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { bool, commonEscaperFields, g3, int, str, strList } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { Picker } from '../pick/index.js';
import { clientIpOf } from '../proxy-peer.js';
import { RouteEscaper, routeSchema } from '../route-base.js';
import { parseWeightedNames } from '../route_select/index.js';
import { decode, encodeMap, type MsgValue } from './msgpack.js';

export interface RouteQueryConfig extends BaseConfig {
  allowed: readonly string[];
  fallback: string;
  peer: { host: string; port: number };
  passClientIp: boolean;
  pickPolicy: PickPolicy;
  requestTimeoutMs: number;
  queryWaitTimeoutMs: number;
  protectiveTtlS: number;
  maximumTtlS: number;
  vanishWaitMs: number;
}

const schema = routeSchema('route_query', {
  ...commonEscaperFields,
  query_allowed_next: strList('Escapers the agent may name.'),
  fallback_node: str('Escaper used when the agent does not answer in time or names nothing allowed.'),
  query_peer_addr: g3('upstream', 'UDP address of the agent (default 127.0.0.1:1053).'),
  query_socket_buffer: g3('socket_buffer', 'Socket buffer sizes of the query socket.'),
  query_pass_client_ip: bool('Send the client IP in queries (and cache per client IP).'),
  query_wait_timeout: g3('duration', 'How long a query waits for its answer (default 10s).'),
  cache_request_batch_count: int('Queries sent per batch (accepted; each query is one datagram here).'),
  cache_request_timeout: g3('duration', 'How long a task waits for the cache/agent before the fallback (default 100ms).'),
  cache_pick_policy: g3('pick_policy', 'How one of several answered nodes is picked (default ketama on the client IP).'),
  protective_cache_ttl: int('TTL in seconds for answers with ttl 0 (default 10).'),
  maximum_cache_ttl: int('Upper bound of an answer\'s ttl in seconds (default 1800).'),
  cache_vanish_wait: g3('duration', 'How long an expired answer is still used while it is refreshed (default 30s).'),
}, {
  required: ['query_allowed_next', 'fallback_node'],
  aliases: { query_peer_address: 'query_peer_addr', vanish_after_expired: 'cache_vanish_wait' },
});

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteQueryConfig {
  const peer = parseUpstreamAddr(v.query_peer_addr ?? '127.0.0.1:1053', 1053);
  if (peer.ipFamily === 0) ctx.fail(['query_peer_addr'], 'the agent address must be an IP address');
  const dur = (k: string, d: number) => (v[k] === undefined ? d : parseDuration(v[k]));
  return Object.freeze({
    name: v.name as string, type: 'route_query', raw: v, baseDir: ctx.baseDir,
    allowed: (Array.isArray(v.query_allowed_next) ? v.query_allowed_next : [v.query_allowed_next]).map(String),
    fallback: v.fallback_node as string,
    peer: { host: peer.host, port: peer.port },
    passClientIp: v.query_pass_client_ip === true,
    pickPolicy: parsePickPolicy(v.cache_pick_policy, 'ketama'),
    requestTimeoutMs: dur('cache_request_timeout', 100),
    queryWaitTimeoutMs: dur('query_wait_timeout', 10_000),
    protectiveTtlS: v.protective_cache_ttl === undefined ? 10 : Number(v.protective_cache_ttl),
    maximumTtlS: v.maximum_cache_ttl === undefined ? 1800 : Number(v.maximum_cache_ttl),
    vanishWaitMs: dur('cache_vanish_wait', 30_000),
  });
}

interface CacheEntry {
  picker: Picker<string> | null;
  expireAt: number;
  vanishAt: number;
}

interface Pending {
  key: string;
  waiters: Array<() => void>;
  timer: NodeJS.Timeout;
}

export class RouteQueryEscaper extends RouteEscaper<RouteQueryConfig> {
  readonly logName = 'RouteQuery';
  private socket: UdpSocket | null = null;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pendingById = new Map<string, Pending>();
  private readonly pendingByKey = new Map<string, Pending>();
  /** queries answered / failed to parse, for tests and status */
  readonly queryStats = { sent: 0, answered: 0, invalid: 0 };

  private ensureSocket(): UdpSocket {
    if (this.socket) return this.socket;
    const fam = this.config.peer.host.includes(':') ? 'udp6' : 'udp4';
    const s = createSocket(fam);
    s.on('message', (msg) => this.onAnswer(msg));
    s.on('error', () => {}); // a lost datagram only means the fallback is used
    s.unref();
    this.socket = s;
    return s;
  }

  private onAnswer(msg: Buffer): void {
    let m: MsgValue;
    try {
      m = decode(msg);
    } catch {
      this.queryStats.invalid++;
      return;
    }
    if (!(m instanceof Map)) {
      this.queryStats.invalid++;
      return;
    }
    const idv = m.get('id');
    const id = Buffer.isBuffer(idv) ? idv.toString('hex') : typeof idv === 'string' ? idv.replaceAll('-', '').toLowerCase() : '';
    const p = this.pendingById.get(id);
    if (!p) return;
    this.finishPending(id, p);
    const nodesV = m.get('nodes');
    const raw = nodesV === undefined || nodesV === null ? [] : Array.isArray(nodesV) ? nodesV : [nodesV];
    let nodes: Array<{ item: string; weight: number }> = [];
    try {
      nodes = parseWeightedNames(raw.map((x) => (x instanceof Map ? Object.fromEntries(x) : x))).filter((n) => this.config.allowed.includes(n.item));
    } catch {
      this.queryStats.invalid++;
    }
    this.queryStats.answered++;
    let ttl = typeof m.get('ttl') === 'number' ? (m.get('ttl') as number) : 0;
    if (ttl <= 0) ttl = this.config.protectiveTtlS;
    ttl = Math.min(ttl, this.config.maximumTtlS);
    const now = Date.now();
    this.cache.set(p.key, {
      picker: nodes.length ? new Picker(nodes, this.config.pickPolicy) : null,
      expireAt: now + ttl * 1000,
      vanishAt: now + ttl * 1000 + this.config.vanishWaitMs,
    });
    for (const w of p.waiters) w();
  }

  private finishPending(id: string, p: Pending): void {
    clearTimeout(p.timer);
    this.pendingById.delete(id);
    this.pendingByKey.delete(p.key);
  }

  /** Send a query for `key` unless one is in flight; resolves when answered or after `waitMs`. */
  private query(key: string, fields: Array<readonly [string, string | Buffer]>, waitMs: number): Promise<void> {
    let p = this.pendingByKey.get(key);
    if (!p) {
      const uuid = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
      const id = uuid.toString('hex');
      const pending: Pending = {
        key,
        waiters: [],
        timer: setTimeout(() => this.finishPending(id, pending), this.config.queryWaitTimeoutMs),
      };
      pending.timer.unref();
      p = pending;
      this.pendingById.set(id, p);
      this.pendingByKey.set(key, p);
      this.queryStats.sent++;
      this.ensureSocket().send(encodeMap([['id', uuid], ...fields]), this.config.peer.port, this.config.peer.host);
    }
    const pend = p;
    return new Promise((resolve) => {
      const t = setTimeout(resolve, waitMs);
      pend.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  protected async select(task: TaskContext, upstream: Upstream): Promise<string> {
    const c = this.config;
    const clientIp = clientIpOf(task);
    const user = task.user ?? '';
    const key = c.passClientIp ? `${user}\0${upstream.host}\0${clientIp}` : `${user}\0${upstream.host}`;
    const now = Date.now();
    let e = this.cache.get(key);
    if (e && now >= e.vanishAt) {
      this.cache.delete(key);
      e = undefined;
    }
    const fields: Array<readonly [string, string]> = [['user', user], ['host', upstream.host]];
    if (c.passClientIp) fields.push(['client_ip', clientIp]);
    if (!e) {
      await this.query(key, fields, c.requestTimeoutMs);
      e = this.cache.get(key);
    } else if (now >= e.expireAt) {
      // stale but not vanished: use it, refresh in the background
      void this.query(key, fields, 0);
    }
    return e?.picker?.pick(clientIp) ?? c.fallback;
  }

  protected override onReload(): void {
    this.cache.clear();
    this.socket?.close();
    this.socket = null;
  }

  override destroy(): void {
    for (const [id, p] of this.pendingById) this.finishPending(id, p);
    this.socket?.close();
    this.socket = null;
  }

  override async close(): Promise<void> {
    this.destroy();
  }
}

export const routeQueryType: ObjectTypeDef<RouteQueryConfig, RouteQueryEscaper> = {
  type: 'route_query',
  logName: 'RouteQuery',
  schema,
  parse,
  create: (cfg, runtime) => new RouteQueryEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [...new Set([...cfg.allowed, cfg.fallback])] }),
  diff: () => 'reload',
};
