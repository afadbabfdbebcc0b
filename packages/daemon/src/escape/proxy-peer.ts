/**
 * What the chaining escapers (proxy_http, proxy_https, proxy_socks5, proxy_socks5s) share: their config keys,
 * picking a next proxy from `proxy_addr`, connecting to it (resolve, bind, happy eyeballs), the optional PROXY
 * protocol header and TLS towards it, and the bookkeeping for the task and Escape logs.
 */
import { isIP, type Socket } from 'node:net';
import { checkServerIdentity, type ConnectionOptions } from 'node:tls';
import {
  parseDuration, parsePickPolicy, parseProxyProtocolVersion, parseUpstreamAddr, normalizeIp, SluiceError, toSluiceError,
  type PickPolicy, type UpstreamAddr, type WeightedUpstream,
} from '@sluice/common';
import { encodeProxyHeader, type ProxyEndpoint } from '@sluice/protocol';
import type { BaseConfig, ParseContext } from '../runtime/object-def.js';
import type { Runtime } from '../runtime/runtime.js';
import { bool, commonEscaperFields, g3, str, type FieldSchema } from '../runtime/schema-util.js';
import { formatSockAddr, formatUpstream, type TaskContext, type Upstream } from '../task/task.js';
import { parseTlsClient, tlsField, type TlsClientConfig } from '../tls/tls-config.js';
import { parseConnectTuning, type ConnectTuning } from './direct_fixed/config.js';
import { directConnect } from './direct-connect.js';
import { logEscapeError } from './escape-log.js';
import { Picker, selectionKey } from './pick/index.js';
import { tlsUpgrade } from './tls-upgrade.js';
import type { ConnectInfo, EscaperStats } from './types.js';
import type { CancelSignal } from '../runtime/cancel.js';

export interface ProxyPeerConfig extends BaseConfig {
  peers: readonly WeightedUpstream[];
  pickPolicy: PickPolicy;
  username: string | undefined;
  password: string;
  resolver: string;
  bindIps4: string[];
  bindIps6: string[];
  noIpv4: boolean;
  noIpv6: boolean;
  tuning: ConnectTuning;
  negotiationTimeoutMs: number;
  proxyProtocol: 1 | 2 | undefined;
  /** TLS to the next proxy (proxy_https, proxy_socks5s) */
  tls: TlsClientConfig | undefined;
  tlsName: string | undefined;
  passProxyUserid: boolean;
}

/** Schema fields common to the proxy_* types. */
export function proxyPeerFields(defaultPort: number, withTls: boolean): Record<string, FieldSchema> {
  return {
    ...commonEscaperFields,
    proxy_addr: g3(defaultPort === 3128 ? 'proxy_addr_http' : 'proxy_addr_socks5',
      `Next proxy: 'host[:port]' (default port ${defaultPort}) or a list of them / {addr, weight} maps.`),
    proxy_addr_pick_policy: g3('pick_policy', 'How a next proxy is picked from proxy_addr: random (default), serial, round_robin, ketama, rendezvous, jump_hash.'),
    proxy_username: str('Username sent to the next proxy.'),
    proxy_password: str('Password sent to the next proxy.'),
    bind_interface: str('Network interface to bind to (accepted; Node cannot bind to a device, so it is ignored).'),
    bind_ipv4: g3('ip', 'Local IPv4 address to connect to the next proxy from.'),
    bind_ipv6: g3('ip', 'Local IPv6 address to connect to the next proxy from.'),
    resolver: str('Resolver for a next proxy given by domain name.'),
    resolve_strategy: g3('resolve_strategy', 'Address families to query for the next proxy\'s name.'),
    tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per-connection speed limit towards the next proxy.'),
    tcp_conn_speed_limit: g3('tcp_speed_limit', 'Old name of tcp_sock_speed_limit.'),
    tcp_keepalive: g3('tcp_keepalive', 'TCP keepalive on connections to the next proxy.'),
    tcp_misc_opts: g3('tcp_misc_opts', 'Socket options for connections to the next proxy.'),
    no_ipv4: bool('Never connect to the next proxy over IPv4.'),
    no_ipv6: bool('Never connect to the next proxy over IPv6.'),
    tcp_connect: g3('tcp_connect', 'Connect retries and per-attempt timeout ({max_retry: 2, each_timeout: 30s}).'),
    happy_eyeballs: g3('happy_eyeballs', 'RFC 8305 tuning for connecting to the next proxy.'),
    peer_negotiation_timeout: g3('duration', 'How long the next proxy has to finish its handshake (default 10s).'),
    ...(withTls ? {
      tls_client: tlsField('TLS client config towards the next proxy (`{}` for defaults).'),
      tls_name: str('Name to verify the next proxy\'s certificate against (and send as SNI); default its host.'),
    } : {}),
  };
}

export const PROXY_ALIASES: Record<string, string> = {
  proxy_user: 'proxy_username', proxy_passwd: 'proxy_password', tls: 'tls_client', tcp_conn_limit: 'tcp_conn_speed_limit',
  conn_limit: 'tcp_conn_speed_limit',
};

function oneIp(v: unknown, family: 4 | 6, key: string, ctx: ParseContext): string[] {
  if (v === undefined) return [];
  const n = normalizeIp(String(v));
  if (!n || (n.includes(':') ? 6 : 4) !== family) ctx.fail([key], `'${String(v)}' is not an IPv${family} address`);
  return [n];
}

export function parseProxyPeerConfig(v: Record<string, unknown>, ctx: ParseContext, type: string, defaultPort: number, withTls: boolean): ProxyPeerConfig {
  const list = Array.isArray(v.proxy_addr) ? v.proxy_addr : [v.proxy_addr];
  const peers = list.map((x, i): WeightedUpstream => {
    const w: Record<string, unknown> = typeof x === 'object' && x !== null ? x as Record<string, unknown> : { addr: x };
    const addr = parseUpstreamAddr(w.addr ?? w.address, defaultPort);
    if (addr.port === 0) ctx.fail(['proxy_addr', String(i)], 'missing port');
    return { addr, weight: w.weight === undefined ? 1 : Number(w.weight) };
  });
  let tls: TlsClientConfig | undefined;
  if (withTls) tls = parseTlsClient(v.tls_client === true || v.tls_client === undefined ? {} : v.tls_client, ctx.baseDir);
  return Object.freeze({
    name: v.name as string,
    type,
    raw: v,
    baseDir: ctx.baseDir,
    peers,
    pickPolicy: parsePickPolicy(v.proxy_addr_pick_policy, 'random'),
    username: v.proxy_username === undefined ? undefined : String(v.proxy_username),
    password: v.proxy_password === undefined ? '' : String(v.proxy_password),
    resolver: (v.resolver as string | undefined) ?? '',
    bindIps4: oneIp(v.bind_ipv4, 4, 'bind_ipv4', ctx),
    bindIps6: oneIp(v.bind_ipv6, 6, 'bind_ipv6', ctx),
    noIpv4: v.no_ipv4 === true,
    noIpv6: v.no_ipv6 === true,
    tuning: parseConnectTuning(v),
    negotiationTimeoutMs: v.peer_negotiation_timeout === undefined ? 10_000 : parseDuration(v.peer_negotiation_timeout),
    proxyProtocol: v.use_proxy_protocol === undefined ? undefined : parseProxyProtocolVersion(v.use_proxy_protocol),
    tls,
    tlsName: v.tls_name === undefined ? undefined : String(v.tls_name),
    passProxyUserid: v.pass_proxy_userid === true,
  });
}

/** A task's `1.2.3.4:80` / `[::1]:80` address text → parts (IPv4-mapped IPv6 as IPv4); undefined for anything else. */
export function splitSockAddr(s: string | undefined): ProxyEndpoint | undefined {
  if (!s) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m || !isIP(m[1]!)) return undefined;
  return { ip: m[1]!.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'), port: Number(m[2]) };
}

/** The client IP of a task (`ip:port` → ip), for selection keys. */
export function clientIpOf(task: TaskContext): string {
  return splitSockAddr(task.clientAddr)?.ip ?? task.clientAddr;
}

/** Credentials for the next proxy: the configured ones, or with pass_proxy_userid the client's username. */
export function peerCredentials(cfg: ProxyPeerConfig, task: TaskContext): { username: string; password: string } | undefined {
  if (cfg.passProxyUserid && task.user) return { username: task.user, password: 'g3proxy' };
  if (cfg.username === undefined) return undefined;
  return { username: cfg.username, password: cfg.password };
}

const HASHED = new Set(['ketama', 'rendezvous', 'jump_hash']);

export interface PeerConnection {
  socket: Socket;
  info: ConnectInfo;
  peer: { host: string; port: number; ipFamily: 0 | 4 | 6 };
}

/** A peer picker for a config; rebuilt on reload. */
export function peerPicker(cfg: ProxyPeerConfig): Picker<UpstreamAddr> {
  return new Picker(cfg.peers.map((p) => ({ item: p.addr, weight: p.weight })), cfg.pickPolicy);
}

export interface PeerEscaper {
  readonly name: string;
  readonly logName: string;
  readonly stats: EscaperStats;
}

/**
 * Connect to a next proxy: pick one, connect (the escaper's bind addresses and tuning), send the PROXY
 * header if configured, then TLS if configured. `peerOverride` replaces the pick (proxy_float peers, username params).
 */
export async function connectPeer(
  runtime: Runtime,
  esc: PeerEscaper,
  cfg: ProxyPeerConfig,
  picker: Picker<UpstreamAddr>,
  task: TaskContext,
  upstream: Upstream,
  signal: CancelSignal,
  tlsOverride?: { tls: TlsClientConfig; tlsName: string | undefined },
): Promise<PeerConnection> {
  // username params / egress path selection may name the next proxy for this task; else pick one
  const peer = task.egressPath?.selectUpstream(esc.name)
    ?? picker.pick(picker.size > 1 && HASHED.has(picker.policy) ? selectionKey(clientIpOf(task), task.user, upstream.host) : '');
  const stats = esc.stats;
  stats.taskTotal++;
  stats.connAttempt++;
  const started = performance.now();
  let socket: Socket;
  let info: ConnectInfo;
  try {
    const r = await directConnect(runtime.resolver(cfg.resolver), { host: peer.host, port: peer.port, ipFamily: peer.ipFamily },
      { tuning: cfg.tuning, bindIps4: cfg.bindIps4, bindIps6: cfg.bindIps6, noIpv4: cfg.noIpv4, noIpv6: cfg.noIpv6 }, stats, signal);
    socket = r.socket;
    info = {
      nextBindIp: r.bindIp,
      nextBoundAddr: formatSockAddr(socket.localAddress, socket.localPort),
      nextPeerAddr: r.peer,
      tcpConnectTries: r.tries,
      tcpConnectSpendMs: r.spendMs,
      escaper: esc.name,
    };
    task.nextBindIp = info.nextBindIp;
    task.nextBoundAddr = info.nextBoundAddr;
    task.nextPeerAddr = info.nextPeerAddr;
    task.tcpConnectTries = info.tcpConnectTries;
    task.tcpConnectSpend = info.tcpConnectSpendMs;
  } catch (e) {
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    if (err.code !== 'CLIENT_CLOSED_EARLY') {
      logEscapeError(runtime, esc, 'TcpConnect', task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
    }
    throw err;
  }
  if (cfg.proxyProtocol) {
    // before TLS: the next hop reads the PROXY header from the raw TCP stream
    socket.write(encodeProxyHeader(cfg.proxyProtocol, splitSockAddr(task.clientAddr), splitSockAddr(task.serverAddr)));
  }
  const tls = tlsOverride?.tls ?? cfg.tls;
  if (tls) {
    const tlsName = tlsOverride ? tlsOverride.tlsName : cfg.tlsName;
    const servername = tls.disableSni ? undefined : tlsName ?? peer.host;
    const opts: ConnectionOptions & { handshakeTimeoutMs: number } = {
      ...tls.options, handshakeTimeoutMs: tls.handshakeTimeoutMs,
    };
    if (servername) opts.servername = servername;
    // verify against tls_name rather than the address we connected to
    if (tlsName) opts.checkServerIdentity = (_host, cert) => checkServerIdentity(tlsName, cert);
    try {
      socket = await tlsUpgrade(socket, tlsName ?? peer.host, opts, signal);
      stats.tlsHandshakeSuccess++;
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_TLS_HANDSHAKE_FAILED');
      if (err.code === 'UPSTREAM_TLS_HANDSHAKE_TIMEOUT') stats.tlsHandshakeTimeout++;
      else stats.tlsHandshakeError++;
      if (err.code !== 'CLIENT_CLOSED_EARLY') {
        logEscapeError(runtime, esc, 'TlsHandshake', task, [['upstream', formatUpstream(upstream)], ['tls_name', tlsName ?? peer.host]], err);
      }
      throw err;
    }
  }
  info.tcpConnectSpendMs = performance.now() - started;
  return { socket, info, peer };
}

/** Run a handshake with the next proxy under peer_negotiation_timeout; on failure the socket is destroyed. */
export function withNegotiationTimeout<T>(socket: Socket, ms: number, signal: CancelSignal, run: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (err: unknown, v?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(v as T);
    };
    const onAbort = () => finish(new SluiceError('CLIENT_CLOSED_EARLY', 'negotiation canceled: client went away'));
    const timer = setTimeout(() => finish(new SluiceError('UPSTREAM_NEGOTIATION_TIMEOUT', `next proxy did not finish its handshake within ${ms}ms`)), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    run().then((v) => finish(null, v), (e) => finish(e));
  });
}

/**
 * Read from `socket` until `complete(buf)` returns the length of a finished message (or -1 to keep reading),
 * at most `max` bytes. Bytes past the message are pushed back onto the socket, which is left paused.
 */
export function readMessage(socket: Socket, max: number, complete: (buf: Buffer) => number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
    };
    const onData = (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let n: number;
      try {
        n = complete(buf);
      } catch (e) {
        cleanup();
        reject(e);
        return;
      }
      if (n >= 0) {
        cleanup();
        socket.pause();
        if (n < buf.length) socket.unshift(buf.subarray(n));
        resolve(buf.subarray(0, n));
      } else if (buf.length > max) {
        cleanup();
        reject(new SluiceError('UPSTREAM_PROTOCOL_INVALID', `next proxy's reply exceeds ${max} bytes`));
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new SluiceError('UPSTREAM_READ_FAILED', 'next proxy closed the connection during the handshake'));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(new SluiceError('UPSTREAM_READ_FAILED', `reading from the next proxy failed: ${e.message}`, { cause: e }));
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

/** The descriptor parts all proxy_* types share: a peer given by name needs its resolver; any config change reloads in place. */
export const peerTypeLinks = {
  dependsOn: (cfg: ProxyPeerConfig) => ({ resolver: cfg.resolver ? [cfg.resolver] : [] }),
  diff: (a: ProxyPeerConfig, b: ProxyPeerConfig): 'none' | 'reload' =>
    (JSON.stringify(a.raw) === JSON.stringify(b.raw) && a.baseDir === b.baseDir ? 'none' : 'reload'),
};
