/**
 * `proxy_float`: next proxies that come and go at runtime. Peers are JSON records
 * `{type: http|https|socks5|socks5s, addr: "ip:port", id, username, password, tls_name, expire, isp, eip, area}`
 * published over the control socket (`sluice-ctl escaper NAME publish '<json>'`) or read from a Redis set; the
 * last set is kept in the `cache` file. A task takes a random unexpired peer (expiring later than
 * expire_guard_duration from now), or the peer its egress path string id names. UDP goes through socks5/socks5s
 * peers (UDP ASSOCIATE); with an http/https peer it is refused.
 */
import { parseDuration, parseUpstreamAddr, SluiceError, ValueError } from '@sluice/common';
import type { ConnectionOptions } from 'node:tls';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, g3, objectSchema, str } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { parseTlsClient, tlsField, type TlsClientConfig } from '../../tls/tls-config.js';
import { parseConnectTuning, type ConnectTuning } from '../direct_fixed/config.js';
import { asRecords, loadCache, parseExpire, parseFloatSource, RedisPoller, resolvePath, saveCache, sourceField, type FloatSource } from '../float-source.js';
import { parseCapability, type ProxyHttpConfig } from '../proxy_http/config.js';
import { ProxyHttpEscaper } from '../proxy_http/proxy-http-escaper.js';
import type { ProxySocks5Config } from '../proxy_socks5/config.js';
import { ProxySocks5Escaper } from '../proxy_socks5/proxy-socks5-escaper.js';
import {
  newEscaperStats, type Escaper, type HttpForwardConnection, type TcpConnection, type UdpConnectSocket, type UdpRelaySocket,
  type UdpUpstreamReceiver,
} from '../types.js';
import type { CancelSignal } from '../../runtime/cancel.js';

export interface ProxyFloatConfig extends BaseConfig {
  source: FloatSource;
  cacheFile: string | undefined;
  refreshIntervalMs: number;
  tls: TlsClientConfig | undefined;
  tuning: ConnectTuning;
  bindIps4: string[];
  bindIps6: string[];
  expireGuardMs: number;
  negotiationTimeoutMs: number;
}

const schema = objectSchema(['proxy_float'], {
    ...commonEscaperFields,
    source: sourceField,
    cache: str('JSON file keeping the last peer set, loaded at start.'),
    refresh_interval: g3('duration', 'How often the Redis source is polled (default 1s).'),
    tls_client: tlsField('TLS client config for https / socks5s peers (true or a map).'),
    tcp_connect_timeout: g3('duration', 'Timeout of one connect to a peer (default 30s).'),
    tcp_keepalive: g3('tcp_keepalive', 'TCP keepalive towards peers.'),
    tcp_misc_opts: g3('tcp_misc_opts', 'Socket options towards peers.'),
    udp_misc_opts: g3('udp_misc_opts', 'Socket options for UDP towards peers.'),
    bind_interface: str('Network interface to bind to (accepted; ignored by Node).'),
    bind_ipv4: g3('ip', 'Local IPv4 address to connect from.'),
    bind_ipv6: g3('ip', 'Local IPv6 address to connect from.'),
    expire_guard_duration: g3('duration', 'Peers expiring sooner than this are not picked (default 5s).'),
    peer_negotiation_timeout: g3('duration', 'How long a peer has to finish its handshake (default 10s).'),
}, { aliases: { tls: 'tls_client' } });

function parse(v: Record<string, unknown>, ctx: ParseContext): ProxyFloatConfig {
  let source: FloatSource = { kind: 'passive' };
  try {
    source = parseFloatSource(v.source);
  } catch (e) {
    ctx.fail(['source'], (e as Error).message);
  }
  const tuning = parseConnectTuning(v);
  const eachTimeoutMs = v.tcp_connect_timeout === undefined ? 30_000 : parseDuration(v.tcp_connect_timeout);
  const tlsV = v.tls_client;
  return Object.freeze({
    name: v.name as string, type: 'proxy_float', raw: v, baseDir: ctx.baseDir,
    source,
    cacheFile: resolvePath(ctx.baseDir, v.cache),
    refreshIntervalMs: v.refresh_interval === undefined ? 1000 : parseDuration(v.refresh_interval),
    tls: tlsV === undefined || tlsV === false ? undefined : parseTlsClient(tlsV === true ? {} : tlsV, ctx.baseDir),
    tuning: { ...tuning, maxAttempts: 1, eachTimeoutMs },
    bindIps4: v.bind_ipv4 ? [String(v.bind_ipv4)] : [],
    bindIps6: v.bind_ipv6 ? [String(v.bind_ipv6)] : [],
    expireGuardMs: v.expire_guard_duration === undefined ? 5000 : parseDuration(v.expire_guard_duration),
    negotiationTimeoutMs: v.peer_negotiation_timeout === undefined ? 10_000 : parseDuration(v.peer_negotiation_timeout),
  });
}

interface FloatPeer {
  id: string | undefined;
  expireAt: number | undefined;
  escaper: Escaper;
}

const PEER_TYPES: Record<string, 'proxy_http' | 'proxy_https' | 'proxy_socks5' | 'proxy_socks5s'> = {
  http: 'proxy_http', https: 'proxy_https', socks5: 'proxy_socks5', socks5s: 'proxy_socks5s', 'socks5+tls': 'proxy_socks5s',
};

export class ProxyFloatEscaper implements Escaper<ProxyFloatConfig> {
  readonly logName = 'ProxyFloat';
  readonly stats = newEscaperStats();
  private peers: FloatPeer[] = [];
  private poller: RedisPoller | null = null;

  constructor(public config: ProxyFloatConfig, private readonly runtime: Runtime) {}

  get name(): string {
    return this.config.name;
  }

  /** The peers now usable (for tests and status). */
  peerCount(): number {
    return this.livePeers().length;
  }

  async prepare(): Promise<void> {
    const cached = await loadCache(this.config.cacheFile).catch(() => undefined);
    if (cached) this.peers = this.parsePeers(cached, false);
  }

  start(): void {
    this.startSource();
  }

  private startSource(): void {
    this.poller?.stop();
    this.poller = null;
    if (this.config.source.kind === 'redis') {
      this.poller = new RedisPoller(this.config.source, this.config.refreshIntervalMs, (records) => this.applyRecords(records),
        (m) => this.runtime.plog.warn(`escaper ${this.name}: ${m}`));
      void this.poller.start();
    }
  }

  reload(cfg: ProxyFloatConfig): void {
    const sourceChanged = JSON.stringify(cfg.source) !== JSON.stringify(this.config.source) || cfg.refreshIntervalMs !== this.config.refreshIntervalMs;
    this.config = cfg;
    if (sourceChanged) this.startSource();
  }

  async publish(data: unknown): Promise<void> {
    await this.applyRecords(asRecords(data));
  }

  private async applyRecords(records: unknown[]): Promise<void> {
    this.peers = this.parsePeers(records, true);
    await saveCache(this.config.cacheFile, records);
  }

  /** Parse peer records; with `strict` a bad record rejects the whole set (publish reports it). */
  private parsePeers(records: unknown[], strict: boolean): FloatPeer[] {
    const out: FloatPeer[] = [];
    records.forEach((r, i) => {
      try {
        out.push(this.parsePeer(r));
      } catch (e) {
        if (strict) throw new ValueError(`peer #${i}: ${(e as Error).message}`);
      }
    });
    return out;
  }

  private parsePeer(r: unknown): FloatPeer {
    if (!r || typeof r !== 'object') throw new ValueError('a peer must be a JSON map');
    const m = r as Record<string, unknown>;
    const type = PEER_TYPES[String(m.type ?? '').toLowerCase()];
    if (!type) throw new ValueError(`unsupported peer type '${String(m.type)}'`);
    const addr = parseUpstreamAddr(m.addr, 0);
    if (addr.ipFamily === 0 || addr.port === 0) throw new ValueError(`peer addr '${String(m.addr)}' must be ip:port`);
    const withTls = type === 'proxy_https' || type === 'proxy_socks5s';
    const c = this.config;
    const base = {
      name: c.name, type, raw: m, baseDir: c.baseDir,
      peers: [{ addr, weight: 1 }], pickPolicy: 'random' as const,
      username: m.username === undefined ? undefined : String(m.username),
      password: m.password === undefined ? '' : String(m.password),
      resolver: '', bindIps4: c.bindIps4, bindIps6: c.bindIps6, noIpv4: false, noIpv6: false,
      tuning: c.tuning, negotiationTimeoutMs: c.negotiationTimeoutMs, proxyProtocol: undefined,
      tls: withTls ? c.tls ?? { options: {}, handshakeTimeoutMs: 10_000, disableSni: false } : undefined,
      tlsName: m.tls_name === undefined ? undefined : String(m.tls_name),
      passProxyUserid: false,
    };
    const opts = { stats: this.stats, logName: 'ProxyFloat' };
    const escaper: Escaper = type === 'proxy_http' || type === 'proxy_https'
      ? new ProxyHttpEscaper({ ...base, capability: parseCapability(m.http_forward_capability), connectRspHeaderMaxSize: 4096 } as ProxyHttpConfig, this.runtime, opts)
      : new ProxySocks5Escaper({ ...base, endOnControlClosed: false, transmuteUdpPeerIp: false } as ProxySocks5Config, this.runtime, opts);
    return { id: m.id === undefined ? undefined : String(m.id), expireAt: parseExpire(m.expire), escaper };
  }

  private livePeers(): FloatPeer[] {
    const limit = Date.now() + this.config.expireGuardMs;
    return this.peers.filter((p) => p.expireAt === undefined || p.expireAt > limit);
  }

  private select(task: TaskContext): Escaper {
    const wanted = task.egressPath?.selectStringId(this.name);
    const now = Date.now();
    if (wanted !== undefined) {
      const p = this.peers.find((x) => x.id === wanted);
      if (!p) throw new SluiceError('ESCAPER_NOT_USABLE', `${this.name}: no peer with id ${wanted}`);
      if (p.expireAt !== undefined && p.expireAt <= now) throw new SluiceError('ESCAPER_NOT_USABLE', `${this.name}: peer ${wanted} is expired`);
      return p.escaper;
    }
    const live = this.livePeers();
    if (live.length === 0) {
      this.stats.taskTotal++;
      throw new SluiceError('ESCAPER_NOT_USABLE', `${this.name}: no peer available`);
    }
    return live[Math.floor(Math.random() * live.length)]!.escaper;
  }

  async tcpConnect(task: TaskContext, upstream: Upstream, signal: CancelSignal): Promise<TcpConnection> {
    const c = await this.select(task).tcpConnect(task, upstream, signal);
    c.info.escaper = this.name;
    return c;
  }

  async httpForwardConnect(task: TaskContext, upstream: Upstream, tls: ConnectionOptions | null, signal: CancelSignal): Promise<HttpForwardConnection> {
    const c = await this.select(task).httpForwardConnect(task, upstream, tls, signal);
    c.info.escaper = this.name;
    return c;
  }

  /**
   * UDP goes through a SOCKS5 peer's UDP ASSOCIATE (proxy_socks5's own code); an HTTP peer has no way to carry
   * it, so the task is refused as a command this path does not support.
   */
  private udpPeer(task: TaskContext): Escaper {
    const e = this.select(task);
    if (!e.udpSetupConnection || !e.udpSetupRelay) {
      throw new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', `${this.name}: the picked peer is an HTTP proxy, which cannot carry UDP`);
    }
    return e;
  }

  async udpSetupConnection(task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpConnectSocket> {
    const s = await this.udpPeer(task).udpSetupConnection!(task, upstream, receiver, signal);
    s.info.escaper = this.name;
    return s;
  }

  async udpSetupRelay(task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
    const s = await this.udpPeer(task).udpSetupRelay!(task, receiver, signal);
    s.info.escaper = this.name;
    return s;
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.poller?.stop();
    this.poller = null;
  }
}

export const proxyFloatType: ObjectTypeDef<ProxyFloatConfig, ProxyFloatEscaper> = {
  type: 'proxy_float',
  aliases: ['proxy_dynamic'],
  logName: 'ProxyFloat',
  schema,
  parse,
  create: (cfg, runtime) => new ProxyFloatEscaper(cfg, runtime),
  diff: () => 'reload',
};
