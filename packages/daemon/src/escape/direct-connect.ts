/**
 * Resolve an upstream and connect to it from this host: the common path of every escaper that opens a TCP
 * connection itself (direct escapers to origins, proxy escapers to their next proxy).
 */
import { isForbidden, SluiceError, toSluiceError, type NetworkAcl, type ResolveRedirection } from '@sluice/common';
import type { Resolver } from '../resolve/types.js';
import type { ConnectionOptions } from 'node:tls';
import type { Runtime } from '../runtime/runtime.js';
import { formatSockAddr, formatUpstream, type TaskContext, type Upstream } from '../task/task.js';
import { logEscapeError } from './escape-log.js';
import { tlsUpgrade } from './tls-upgrade.js';
import type { ConnectTuning } from './direct_fixed/config.js';
import { throttleUpstreamSocket } from '../limit/socket-throttle.js';
import { happyConnect, interleave } from './happy-eyeballs.js';
import type { EscaperStats, HttpForwardConnection, TcpConnection } from './types.js';
import type { CancelSignal } from '../runtime/cancel.js';

export interface DirectConnectOptions {
  tuning: ConnectTuning;
  egress?: NetworkAcl;
  bindIps4?: string[];
  bindIps6?: string[];
  noIpv4?: boolean;
  noIpv6?: boolean;
  /** domain → replacement (IPs or a domain), applied before resolving */
  redirect?: ResolveRedirection;
}

export interface DirectConnectResult {
  socket: import('node:net').Socket;
  tries: number;
  peer: string;
  bindIp: string | undefined;
  spendMs: number;
}

const sleep = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

function pickOrder(addrs: string[], pick: ConnectTuning['pick']): string[] {
  if (addrs.length < 2) return addrs;
  const out = addrs.slice();
  if (pick === 'Serial') {
    // rotate so consecutive connections start on different addresses
    const k = (pickOrder.counter = (pickOrder.counter + 1) % 1_000_000) % out.length;
    return out.slice(k).concat(out.slice(0, k));
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
pickOrder.counter = 0;

/** Addresses for `host`, preferred family first, honouring the query strategy and happy-eyeballs delays. */
export async function resolveOrdered(resolver: Resolver, host: string, o: DirectConnectOptions): Promise<string[]> {
  const t = o.tuning;
  const want4 = !o.noIpv4 && t.queryStrategy !== 'Ipv6Only';
  const want6 = !o.noIpv6 && t.queryStrategy !== 'Ipv4Only';
  const prefer6 = t.queryStrategy === 'Ipv6First' || t.queryStrategy === 'Ipv6Only';
  const pf: 4 | 6 = prefer6 ? 6 : 4;
  const wantPref = pf === 4 ? want4 : want6;
  const wantOther = pf === 4 ? want6 : want4;
  if (!wantPref && !wantOther) throw new SluiceError('RESOLVE_NO_ADDRESS', `no address family allowed for ${host}`);
  const settle = (p: Promise<string[]>) => p.then((a) => ({ ok: true as const, a }), (e: unknown) => ({ ok: false as const, e }));
  const pPref = wantPref ? settle(resolver.resolveFamily(host, pf)) : null;
  const pOther = wantOther ? settle(resolver.resolveFamily(host, pf === 4 ? 6 : 4)) : null;
  const pref = pPref ? await pPref : null;
  let other: Awaited<typeof pOther> | 'timeout' = null;
  if (pOther) {
    const prefOk = pref?.ok && pref.a.length > 0;
    other = await Promise.race([pOther, sleep(prefOk ? t.resolutionDelayMs : t.secondResolutionTimeoutMs)]);
  }
  const a = pref?.ok ? pickOrder(pref.a, t.pick) : [];
  const b = other && other !== 'timeout' && other.ok ? pickOrder(other.a, t.pick) : [];
  if (a.length === 0 && b.length === 0) {
    const err = (pref && !pref.ok ? pref.e : other && other !== 'timeout' && !other.ok ? other.e : null) as unknown;
    if (err instanceof SluiceError) throw err;
    throw new SluiceError('RESOLVE_NO_ADDRESS', `no address found for ${host}`, { cause: err });
  }
  return interleave(a, b, t.firstAddressFamilyCount);
}

export async function directConnect(
  resolver: Resolver,
  upstream: Upstream,
  o: DirectConnectOptions,
  stats: EscaperStats,
  signal: CancelSignal,
): Promise<DirectConnectResult> {
  const started = performance.now();
  let addrs: string[];
  if (upstream.ipFamily !== 0) {
    addrs = [upstream.host];
  } else {
    const redirected = o.redirect?.lookup(upstream.host);
    if (redirected?.kind === 'ips') {
      const v4 = o.noIpv4 ? [] : [...redirected.ipv4];
      const v6 = o.noIpv6 ? [] : [...redirected.ipv6];
      const prefer6 = o.tuning.queryStrategy === 'Ipv6First' || o.tuning.queryStrategy === 'Ipv6Only';
      addrs = prefer6 ? [...v6, ...v4] : [...v4, ...v6];
    } else addrs = await resolveOrdered(resolver, redirected?.kind === 'domain' ? redirected.domain : upstream.host, o);
  }
  if (o.egress) {
    const allowed = addrs.filter((ip) => !isForbidden(o.egress!.check(ip)));
    if (allowed.length === 0) {
      stats.forbiddenIpBlocked++;
      throw new SluiceError('FORBIDDEN_EGRESS_IP', `egress to ${addrs.join(', ')} is forbidden by egress_network_filter`);
    }
    addrs = allowed;
  }
  let bindIp: string | undefined;
  const pickBind = (family: 4 | 6): string | undefined => {
    const list = family === 4 ? o.bindIps4 : o.bindIps6;
    if (!list || list.length === 0) return undefined;
    bindIp = list[Math.floor(Math.random() * list.length)];
    return bindIp;
  };
  const t = o.tuning;
  stats.tcpConnectAttempt++;
  try {
    const r = await happyConnect(addrs, upstream.port, {
      attemptDelayMs: t.attemptDelayMs,
      eachTimeoutMs: t.eachTimeoutMs,
      maxAttempts: t.maxAttempts,
      firstAddressFamilyCount: t.firstAddressFamilyCount,
      bindIp: pickBind,
      keepAlive: t.keepAlive,
      noDelay: t.noDelay,
    }, signal);
    stats.tcpConnectEstablish++;
    stats.tcpConnectSuccess++;
    throttleUpstreamSocket(r.socket, t.speedLimit);
    return { socket: r.socket, tries: r.tries, peer: r.peer, bindIp, spendMs: performance.now() - started };
  } catch (e) {
    if (e instanceof SluiceError && e.code === 'UPSTREAM_CONNECT_TIMEOUT') stats.tcpConnectTimeout++;
    else stats.tcpConnectError++;
    throw e;
  }
}

/** The connection an escaper made from this host, noted on the task for its log (`next_*`, `tcp_connect_*`). */
export function noteDirectConnection(task: TaskContext, r: DirectConnectResult, escaper: string): TcpConnection {
  const info = {
    nextBindIp: r.bindIp,
    nextBoundAddr: formatSockAddr(r.socket.localAddress, r.socket.localPort),
    nextPeerAddr: r.peer,
    tcpConnectTries: r.tries,
    tcpConnectSpendMs: r.spendMs,
    escaper,
  };
  task.nextBindIp = info.nextBindIp;
  task.nextBoundAddr = info.nextBoundAddr;
  task.nextPeerAddr = info.nextPeerAddr;
  task.tcpConnectTries = info.tcpConnectTries;
  task.tcpConnectSpend = info.tcpConnectSpendMs;
  return { socket: r.socket, info };
}

interface DirectEscaperLike {
  readonly name: string;
  readonly logName: string;
  readonly config: { raw?: unknown };
  readonly stats: EscaperStats;
}

/**
 * The TCP connect of an escaper that connects from this host: counts, notes the connection on the task, and
 * writes the Escape log on failure (not when the client went away first).
 */
export async function directTcpConnect(
  escaper: DirectEscaperLike,
  runtime: Runtime,
  task: TaskContext,
  upstream: Upstream,
  connect: () => Promise<DirectConnectResult>,
): Promise<TcpConnection> {
  escaper.stats.taskTotal++;
  escaper.stats.connAttempt++;
  try {
    const r = await connect();
    escaper.stats.connEstablish++;
    return noteDirectConnection(task, r, escaper.name);
  } catch (e) {
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    if (err.code !== 'CLIENT_CLOSED_EARLY') {
      logEscapeError(runtime, escaper, 'TcpConnect', task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
    }
    throw err;
  }
}

/** An HTTP forward connection over a direct TCP connection, with TLS to the origin for https forward. */
export async function directHttpForward(
  escaper: DirectEscaperLike,
  runtime: Runtime,
  task: TaskContext,
  upstream: Upstream,
  tls: ConnectionOptions | null,
  signal: CancelSignal,
  c: TcpConnection,
): Promise<HttpForwardConnection> {
  let socket = c.socket;
  if (tls) {
    try {
      socket = await tlsUpgrade(c.socket, upstream.host, tls, signal);
      escaper.stats.tlsHandshakeSuccess++;
    } catch (e) {
      const err = toSluiceError(e, 'UPSTREAM_TLS_HANDSHAKE_FAILED');
      escaper.stats.tlsHandshakeError++;
      logEscapeError(runtime, escaper, 'TlsHandshake', task, [['upstream', formatUpstream(upstream)], ['tls_name', upstream.host]], err);
      throw err;
    }
  }
  // the bind address is part of the key: a kept connection is reused only for the same way out
  const poolKey = `${escaper.name}|${tls ? 's' : ''}|${c.info.nextBindIp ?? ''}|${upstream.host}|${upstream.port}`;
  return { socket, info: c.info, absoluteForm: false, extraHeaders: [], poolKey };
}
