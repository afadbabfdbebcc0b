/**
 * The StatsD emitter: every `emit_interval` it walks the live generation (`runtime.objects(role)`), reads each
 * object's in-memory counters and sends what changed since the last emit (counters as deltas, gauges as they
 * are) through hot-shots, with g3's metric names and DogStatsD tags in g3's order: `daemon_group` first (the
 * client's global tag), then the object's tags (`server`, `online`, `stat_id`...), its `extra_metrics_tags`,
 * then the metric's own (`transport`, `rr_type`...). An object gone from the generation is emitted one last
 * time so its final increments are not lost, then forgotten.
 *
 * Nothing here runs per task: the hot path only increments number fields; this runs on a timer.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { StatsD } from 'hot-shots';
import type { Escaper } from '../escape/types.js';
import type { Logger } from '../log/hub.js';
import type { LiveObject, RoleName } from '../runtime/object-def.js';
import type { Resolver } from '../resolve/types.js';
import type { Server } from '../serve/types.js';
import { hasResolverQueryStats, hasRouteStats, type ResolverQueryStats } from './extra-stats.js';
import type { StatConfig } from './stat-config.js';
import { StatsdSink } from './statsd-sink.js';
import { isUserStatsSource, type UserStatsEntry } from './user-stats.js';

/** What the emitter reads: the runtime's live objects and its loggers. */
export interface StatSource {
  objects(role: RoleName): LiveObject[];
  logs: { loggers(): Iterable<Logger> };
}

type Snap = Record<string, number>;
interface Tracked {
  snap: Snap;
  tags: string[];
  key: string;
  seen: number;
  emit: (t: Tracked, stats: object) => void;
}

let nextStatId = 1;
const statIds = new WeakMap<object, number>();
/** A process-local id per stats object (g3's `stat_id`), for collectors to tell instances apart. */
export function statIdOf(o: object): number {
  let id = statIds.get(o);
  if (id === undefined) statIds.set(o, (id = nextStatId++));
  return id;
}

function extraTags(obj: LiveObject): string[] {
  const raw = obj.config.raw as Record<string, unknown> | null;
  const extra = raw && typeof raw === 'object' ? (raw.extra_metrics_tags ?? raw['extra-metrics-tags']) : undefined;
  if (!extra || typeof extra !== 'object' || Array.isArray(extra)) return [];
  return Object.entries(extra as Record<string, unknown>).map(([k, v]) => `${k}:${String(v)}`);
}

const QUANTILES: Array<[string, number]> = [['0.50', 50], ['0.80', 80], ['0.90', 90], ['0.95', 95], ['0.99', 99]];

export class StatsEmitter {
  readonly client: StatsD;
  private timer: NodeJS.Timeout | undefined;
  private readonly tracked = new Map<object, Tracked>();
  private tick = 0;
  private readonly loopDelay: IntervalHistogram;
  private elu: EventLoopUtilization;

  /** the cache and socket under hot-shots (cache_size, max_segment_size, bind_ip) */
  readonly sink: StatsdSink;

  constructor(private readonly cfg: StatConfig, private readonly source: StatSource, daemonGroup: string, onError: (e: Error) => void = () => {}) {
    const t = cfg.target;
    const seg = cfg.maxSegmentSize ?? (t.kind === 'udp' ? 1400 : 4096);
    this.sink = new StatsdSink(t, Math.max(cfg.cacheSize, seg), onError);
    this.client = new StatsD({
      // hot-shots formats and batches the lines; the sink caches and sends them (see statsd-sink.ts)
      protocol: 'stream',
      stream: this.sink,
      prefix: cfg.prefix,
      globalTags: [`daemon_group:${daemonGroup}`],
      // hot-shots appends a newline to each batch it writes: leave room for it within the segment
      maxBufferSize: seg - 1,
      // the emit loop flushes itself; this only bounds how long a partial batch can wait
      bufferFlushInterval: cfg.emitIntervalMs,
      includeDataDogTags: false,
      errorHandler: onError,
    });
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.elu = performance.eventLoopUtilization();
  }

  start(): void {
    this.loopDelay.enable();
    this.timer = setInterval(() => this.emitOnce(), this.cfg.emitIntervalMs);
    this.timer.unref();
  }

  /** One emit round (the timer's work; tests call it directly). */
  emitOnce(): void {
    const tick = ++this.tick;
    for (const s of this.source.objects('server') as Server[]) this.emitServer(s, tick);
    for (const e of this.source.objects('escaper') as Escaper[]) this.emitEscaper(e, tick);
    for (const g of this.source.objects('user_group')) {
      if (isUserStatsSource(g)) g.forEachUserStats((entry) => this.emitUser(entry, tick));
    }
    for (const r of this.source.objects('resolver') as Resolver[]) this.emitResolver(r, tick);
    for (const l of this.source.logs.loggers()) this.emitLogger(l, tick);
    // objects gone since the last round: a last emit, then forget them
    for (const [stats, t] of this.tracked) {
      if (t.seen !== tick) {
        t.emit(t, stats);
        this.tracked.delete(stats);
      }
    }
    this.emitProcess();
    // hot-shots batches lines into max_segment_size pieces: hand over the last partial one, then send the cache
    (this.client as unknown as { flushQueue?: () => void }).flushQueue?.();
    this.sink.flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.loopDelay.disable();
    this.emitOnce();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      t.unref();
      this.client.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  // ---- helpers ------------------------------------------------------------------------------------------------

  private track(stats: object, key: string, tick: number, tags: () => string[], emit: Tracked['emit']): Tracked | undefined {
    let t = this.tracked.get(stats);
    if (!t || t.key !== key) {
      // a new object, or the same stats now under another name/online state: keep the snapshot, renew the tags
      t = { snap: t?.snap ?? {}, tags: tags(), key, seen: tick, emit };
      this.tracked.set(stats, t);
    }
    t.seen = tick;
    emit(t, stats);
    return t;
  }

  /** counter delta since the last emit; also updates the snapshot */
  private delta(t: Tracked, field: string, cur: number): number {
    const d = cur - (t.snap[field] ?? 0);
    t.snap[field] = cur;
    return d;
  }

  private count(name: string, value: number, tags: string[]): void {
    this.client.increment(name, value, 1, tags);
  }

  private gauge(name: string, value: number, tags: string[]): void {
    this.client.gauge(name, value, 1, tags);
  }

  /** g3 sends some counters only once they are non-zero (and from then on, zero deltas too). */
  private countIfUsed(t: Tracked, name: string, field: string, cur: number, tags: string[]): void {
    if (cur === 0 && !(field in t.snap)) return;
    this.count(name, this.delta(t, field, cur), tags);
  }

  // ---- servers and listeners ------------------------------------------------------------------------------------

  private emitServer(s: Server, tick: number): void {
    const online = s.online ? 'y' : 'n';
    this.track(s.stats, `${s.name}|${online}`, tick, () => [`server:${s.name}`, `online:${online}`, `stat_id:${statIdOf(s.stats)}`, ...extraTags(s)], (t, o) => {
      const st = o as Server['stats'];
      const tags = t.tags;
      this.count('server.connection.total', this.delta(t, 'conn', st.connTotal), tags);
      this.count('server.task.total', this.delta(t, 'task', st.taskTotal), tags);
      this.gauge('server.task.alive', st.taskAlive, tags);
      this.countIfUsed(t, 'server.forbidden.auth_failed', 'fAuth', st.forbiddenAuthFailed, tags);
      this.countIfUsed(t, 'server.forbidden.dest_denied', 'fDest', st.forbiddenDestDenied, tags);
      this.countIfUsed(t, 'server.forbidden.user_blocked', 'fUser', st.forbiddenUserBlocked, tags);
      if (st.inBytes !== 0 || 'inB' in t.snap) {
        const tcp = [...tags, 'transport:tcp'];
        this.count('server.traffic.in.bytes', this.delta(t, 'inB', st.inBytes), tcp);
        this.count('server.traffic.out.bytes', this.delta(t, 'outB', st.outBytes), tcp);
      }
      if (st.udpInPackets !== 0 || 'uInP' in t.snap) {
        const udp = [...tags, 'transport:udp'];
        this.count('server.traffic.in.packets', this.delta(t, 'uInP', st.udpInPackets), udp);
        this.count('server.traffic.in.bytes', this.delta(t, 'uInB', st.udpInBytes), udp);
        this.count('server.traffic.out.packets', this.delta(t, 'uOutP', st.udpOutPackets), udp);
        this.count('server.traffic.out.bytes', this.delta(t, 'uOutB', st.udpOutBytes), udp);
      }
      if (st.untrustedTaskTotal !== 0 || 'untr' in t.snap) {
        this.count('server.task.untrusted_total', this.delta(t, 'untr', st.untrustedTaskTotal), tags);
        this.gauge('server.task.untrusted_alive', st.untrustedTaskAlive, tags);
        this.count('server.traffic.untrusted_in.bytes', this.delta(t, 'untrB', st.untrustedInBytes), [...tags, 'transport:tcp']);
      }
      // listen.* (g3's listen stats share the server's tags)
      this.gauge('listen.instance.count', st.listenInstanceCount || s.listening().length, tags);
      this.count('listen.accepted', this.delta(t, 'lAcc', st.listenAccepted), tags);
      this.count('listen.dropped', this.delta(t, 'lDrop', st.listenDropped), tags);
      this.count('listen.timeout', this.delta(t, 'lTmo', st.listenTimeout), tags);
      this.count('listen.failed', this.delta(t, 'lFail', st.listenFailed), tags);
    });
  }

  // ---- escapers and routes --------------------------------------------------------------------------------------

  private emitEscaper(e: Escaper, tick: number): void {
    this.track(e.stats, e.name, tick, () => [`escaper:${e.name}`, `stat_id:${statIdOf(e.stats)}`, ...extraTags(e)], (t, o) => {
      const st = o as Escaper['stats'];
      const tags = t.tags;
      this.count('escaper.task.total', this.delta(t, 'task', st.taskTotal), tags);
      this.count('escaper.connection.attempt', this.delta(t, 'cAtt', st.connAttempt), tags);
      this.count('escaper.connection.establish', this.delta(t, 'cEst', st.connEstablish), tags);
      this.countIfUsed(t, 'escaper.tcp.connect.attempt', 'tAtt', st.tcpConnectAttempt, tags);
      this.countIfUsed(t, 'escaper.tcp.connect.establish', 'tEst', st.tcpConnectEstablish, tags);
      this.countIfUsed(t, 'escaper.tcp.connect.success', 'tOk', st.tcpConnectSuccess, tags);
      this.countIfUsed(t, 'escaper.tcp.connect.error', 'tErr', st.tcpConnectError, tags);
      this.countIfUsed(t, 'escaper.tcp.connect.timeout', 'tTmo', st.tcpConnectTimeout, tags);
      this.countIfUsed(t, 'escaper.tls.handshake.success', 'hOk', st.tlsHandshakeSuccess ?? 0, tags);
      this.countIfUsed(t, 'escaper.tls.handshake.error', 'hErr', st.tlsHandshakeError ?? 0, tags);
      this.countIfUsed(t, 'escaper.tls.handshake.timeout', 'hTmo', st.tlsHandshakeTimeout ?? 0, tags);
      this.countIfUsed(t, 'escaper.tls.peer.closure.orderly', 'pOrd', st.tlsPeerOrderlyClosure ?? 0, tags);
      this.countIfUsed(t, 'escaper.tls.peer.closure.abortive', 'pAbo', st.tlsPeerAbortiveClosure ?? 0, tags);
      this.countIfUsed(t, 'escaper.forbidden.ip_blocked', 'fIp', st.forbiddenIpBlocked, tags);
      if (st.outBytes !== 0 || 'outB' in t.snap) {
        const tcp = [...tags, 'transport:tcp'];
        this.count('escaper.traffic.out.bytes', this.delta(t, 'outB', st.outBytes), tcp);
        this.count('escaper.traffic.in.bytes', this.delta(t, 'inB', st.inBytes), tcp);
      }
      if ((st.udpOutPackets ?? 0) !== 0 || 'uOutP' in t.snap) {
        const udp = [...tags, 'transport:udp'];
        this.count('escaper.traffic.out.packets', this.delta(t, 'uOutP', st.udpOutPackets ?? 0), udp);
        this.count('escaper.traffic.out.bytes', this.delta(t, 'uOutB', st.udpOutBytes ?? 0), udp);
        this.count('escaper.traffic.in.packets', this.delta(t, 'uInP', st.udpInPackets ?? 0), udp);
        this.count('escaper.traffic.in.bytes', this.delta(t, 'uInB', st.udpInBytes ?? 0), udp);
      }
    });
    if (hasRouteStats(e)) {
      const rs = e.routeStats;
      this.track(rs, e.name, tick, () => [`escaper:${e.name}`, `stat_id:${statIdOf(rs)}`], (t, o) => {
        const st = o as typeof rs;
        this.count('route.request.passed', this.delta(t, 'pass', st.requestPassed), t.tags);
        this.countIfUsed(t, 'route.request.failed', 'fail', st.requestFailed, t.tags);
      });
    }
  }

  // ---- users and user-sites -------------------------------------------------------------------------------------

  private emitUser(u: UserStatsEntry, tick: number): void {
    const base = u.siteId ? `user.site.${u.siteId}.` : 'user.';
    const key = `${u.userGroup}|${u.user}|${u.userType}|${u.server ?? ''}|${u.escaper ?? ''}|${u.connection ?? ''}|${u.request ?? ''}|${u.siteId ?? ''}`;
    this.track(u.stats, key, tick, () => [`user_group:${u.userGroup}`, `user:${u.user}`, `user_type:${u.userType}`, `stat_id:${statIdOf(u.stats)}`], (t, o) => {
      const st = o as UserStatsEntry['stats'];
      if (u.server !== undefined) {
        const tags = [...t.tags, `server:${u.server}`];
        const conn = [...tags, `connection:${u.connection ?? 'http'}`];
        const req = [...tags, `request:${u.request ?? 'http_forward'}`];
        this.count(`${base}connection.total`, this.delta(t, 'conn', st.connTotal), conn);
        this.gauge(`${base}l7.connection.alive`, st.l7ConnAlive, conn);
        this.count(`${base}request.total`, this.delta(t, 'rTot', st.requestTotal), req);
        this.gauge(`${base}request.alive`, st.requestAlive, req);
        this.count(`${base}request.ready`, this.delta(t, 'rRdy', st.requestReady), req);
        this.count(`${base}request.reuse`, this.delta(t, 'rReu', st.requestReuse), req);
        this.count(`${base}request.renew`, this.delta(t, 'rRen', st.requestRenew), req);
        if (!u.siteId) {
          this.countIfUsed(t, 'user.forbidden.auth_failed', 'fAuth', st.forbiddenAuthFailed, tags);
          this.countIfUsed(t, 'user.forbidden.user_expired', 'fExp', st.forbiddenUserExpired, tags);
          this.countIfUsed(t, 'user.forbidden.user_blocked', 'fBlk', st.forbiddenUserBlocked, tags);
          this.countIfUsed(t, 'user.forbidden.fully_loaded', 'fFull', st.forbiddenFullyLoaded, tags);
          this.countIfUsed(t, 'user.forbidden.rate_limited', 'fRate', st.forbiddenRateLimited, tags);
          this.countIfUsed(t, 'user.forbidden.proto_banned', 'fProto', st.forbiddenProtoBanned, tags);
          this.countIfUsed(t, 'user.forbidden.src_blocked', 'fSrc', st.forbiddenSrcBlocked, tags);
          this.countIfUsed(t, 'user.forbidden.dest_denied', 'fDest', st.forbiddenDestDenied, tags);
          this.countIfUsed(t, 'user.forbidden.ip_blocked', 'fIp', st.forbiddenIpBlocked, tags);
          this.countIfUsed(t, 'user.forbidden.ua_blocked', 'fUa', st.forbiddenUaBlocked, tags);
          this.countIfUsed(t, 'user.forbidden.log_skipped', 'fLog', st.forbiddenLogSkipped, tags);
        }
        this.count(`${base}traffic.in.bytes`, this.delta(t, 'inB', st.inBytes), req);
        this.count(`${base}traffic.in.packets`, this.delta(t, 'inP', st.inPackets), req);
        this.count(`${base}traffic.out.bytes`, this.delta(t, 'outB', st.outBytes), req);
        this.count(`${base}traffic.out.packets`, this.delta(t, 'outP', st.outPackets), req);
      }
      if (u.escaper !== undefined) {
        const tags = [...t.tags, `escaper:${u.escaper}`, 'transport:tcp'];
        this.count(`${base}upstream.traffic.in.bytes`, this.delta(t, 'uInB', st.upstreamInBytes), tags);
        this.count(`${base}upstream.traffic.in.packets`, this.delta(t, 'uInP', st.upstreamInPackets), tags);
        this.count(`${base}upstream.traffic.out.bytes`, this.delta(t, 'uOutB', st.upstreamOutBytes), tags);
        this.count(`${base}upstream.traffic.out.packets`, this.delta(t, 'uOutP', st.upstreamOutPackets), tags);
      }
    });
  }

  // ---- resolvers ------------------------------------------------------------------------------------------------

  private emitResolver(r: Resolver, tick: number): void {
    this.track(r.stats, r.name, tick, () => [`resolver:${r.name}`, `stat_id:${statIdOf(r.stats)}`], (t, o) => {
      if (hasResolverQueryStats(r)) {
        this.emitResolverType(t, 'A', r.queryStats.A);
        this.emitResolverType(t, 'AAAA', r.queryStats.AAAA);
        return;
      }
      // a resolver without the per-type split: its totals, without `rr_type`
      const st = o as Resolver['stats'];
      if (st.queryTotal === 0 && !('total' in t.snap)) return;
      this.count('resolver.query.total', this.delta(t, 'total', st.queryTotal), t.tags);
      this.countIfUsed(t, 'resolver.query.cached', 'cached', st.queryCached, t.tags);
    });
  }

  private emitResolverType(t: Tracked, rr: 'A' | 'AAAA', q: ResolverQueryStats): void {
    const tags = [...t.tags, `rr_type:${rr}`];
    if (q.total !== 0 || `${rr}total` in t.snap) {
      this.count('resolver.query.total', this.delta(t, `${rr}total`, q.total), tags);
      this.countIfUsed(t, 'resolver.query.cached', `${rr}cached`, q.cached, tags);
      this.countIfUsed(t, 'resolver.query.driver.total', `${rr}drv`, q.driver, tags);
      this.countIfUsed(t, 'resolver.query.driver.timeout', `${rr}drvT`, q.driverTimeout, tags);
      this.countIfUsed(t, 'resolver.query.driver.refused', `${rr}drvR`, q.driverRefused, tags);
      this.countIfUsed(t, 'resolver.query.driver.malformed', `${rr}drvM`, q.driverMalformed, tags);
      this.countIfUsed(t, 'resolver.query.server.refused', `${rr}srvR`, q.serverRefused, tags);
      this.countIfUsed(t, 'resolver.query.server.malformed', `${rr}srvM`, q.serverMalformed, tags);
      this.countIfUsed(t, 'resolver.query.server.not_found', `${rr}srvN`, q.serverNotFound, tags);
      this.countIfUsed(t, 'resolver.query.server.serv_fail', `${rr}srvF`, q.serverServFail, tags);
    }
    this.gauge('resolver.memory.cache.capacity', q.cacheCapacity, tags);
    this.gauge('resolver.memory.cache.length', q.cacheLength, tags);
    this.gauge('resolver.memory.doing.capacity', q.doingCapacity, tags);
    this.gauge('resolver.memory.doing.length', q.doingLength, tags);
  }

  // ---- loggers --------------------------------------------------------------------------------------------------

  private emitLogger(l: Logger, tick: number): void {
    // g3 registers no stats for a discard logger
    if (!l.enabled) return;
    this.track(l.stats, l.name, tick, () => [`logger:${l.name}`, `stat_id:${statIdOf(l.stats)}`], (t, o) => {
      const st = o as Logger['stats'];
      this.count('logger.message.total', this.delta(t, 'total', st.total), t.tags);
      this.count('logger.message.pass', this.delta(t, 'pass', st.pass), t.tags);
      this.count('logger.traffic.pass', this.delta(t, 'bytes', st.passBytes), t.tags);
      this.countIfUsed(t, 'logger.message.drop', 'dFmt', st.dropFormatFailed, [...t.tags, 'drop_type:FormatFailed']);
      this.countIfUsed(t, 'logger.message.drop', 'dClosed', st.dropChannelClosed, [...t.tags, 'drop_type:ChannelClosed']);
      this.countIfUsed(t, 'logger.message.drop', 'dOver', st.dropChannelOverflow, [...t.tags, 'drop_type:ChannelOverflow']);
      this.countIfUsed(t, 'logger.message.drop', 'dPeer', st.dropPeerUnreachable, [...t.tags, 'drop_type:PeerUnreachable']);
    });
  }

  // ---- the process (sluice's own names) -------------------------------------------------------------------------

  private emitProcess(): void {
    const h = this.loopDelay;
    if (h.count > 0) {
      const ms = (ns: number) => ns / 1e6;
      const tags = (q: string) => [`quantile:${q}`];
      this.gauge('process.event_loop.delay', ms(h.min), tags('min'));
      this.gauge('process.event_loop.delay', ms(h.max), tags('max'));
      this.gauge('process.event_loop.delay', ms(h.mean), tags('mean'));
      for (const [q, p] of QUANTILES) this.gauge('process.event_loop.delay', ms(h.percentile(p)), tags(q));
      h.reset();
    }
    const now = performance.eventLoopUtilization();
    this.gauge('process.event_loop.utilization', performance.eventLoopUtilization(now, this.elu).utilization, []);
    this.elu = now;
    const mem = process.memoryUsage();
    this.gauge('process.memory.rss', mem.rss, []);
    this.gauge('process.memory.heap_total', mem.heapTotal, []);
    this.gauge('process.memory.heap_used', mem.heapUsed, []);
    this.gauge('process.memory.external', mem.external, []);
    this.gauge('process.handles.active', process.getActiveResourcesInfo().length, []);
  }
}
