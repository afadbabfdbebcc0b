/**
 * UDP for `direct_fixed`: a socket of this host towards the upstreams, with the escaper's bind addresses,
 * resolver (and resolve_redirection) and egress filter. Used by the SOCKS server for UDP connect (one fixed
 * peer) and UDP ASSOCIATE (a destination per datagram).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isForbidden, SluiceError, toSluiceError, type UdpMiscOpts } from '@sluice/common';
import { remoteUdpTtl } from '../../auth/user-socket-opts.js';
import type { Resolver } from '../../resolve/types.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { formatSockAddr, formatUpstream } from '../../task/task.js';
import { resolveOrdered, type DirectConnectOptions } from '../direct-connect.js';
import { logEscapeError } from '../escape-log.js';
import type { UdpConnectSocket, UdpRelaySocket, UdpSocketInfo, UdpUpstreamReceiver } from '../types.js';
import type { CancelSignal } from '../../runtime/cancel.js';

/** What the UDP side needs from its escaper, read at setup time (a reload applies to new tasks). */
export interface DirectUdpContext {
  readonly name: string;
  readonly logName: string;
  readonly opts: DirectConnectOptions;
  readonly runtime: Runtime;
  /** the escaper's udp_misc_opts */
  readonly udpMiscOpts?: UdpMiscOpts | undefined;
  resolver(): Resolver;
}

/** Resolved names kept per relay socket; past this many the cache starts over. */
const NAME_CACHE_MAX = 256;
/** Datagrams held per name while it resolves; more are dropped (UDP may drop). */
const PENDING_PER_NAME = 32;

function pickBind(o: DirectConnectOptions, family: 4 | 6): string | undefined {
  const list = family === 4 ? o.bindIps4 : o.bindIps6;
  if (!list || list.length === 0) return undefined;
  return list[Math.floor(Math.random() * list.length)];
}

/** Addresses for `upstream` through redirection and the resolver, preferred family first. */
async function addressesOf(ctx: DirectUdpContext, upstream: Upstream): Promise<string[]> {
  if (upstream.ipFamily !== 0) return [upstream.host];
  const o = ctx.opts;
  const redirected = o.redirect?.lookup(upstream.host);
  if (redirected?.kind === 'ips') {
    const v4 = o.noIpv4 ? [] : [...redirected.ipv4];
    const v6 = o.noIpv6 ? [] : [...redirected.ipv6];
    const prefer6 = o.tuning.queryStrategy === 'Ipv6First' || o.tuning.queryStrategy === 'Ipv6Only';
    const all = prefer6 ? [...v6, ...v4] : [...v4, ...v6];
    if (all.length === 0) throw new SluiceError('RESOLVE_NO_ADDRESS', `no address allowed for ${upstream.host}`);
    return all;
  }
  return resolveOrdered(ctx.resolver(), redirected?.kind === 'domain' ? redirected.domain : upstream.host, o);
}

/** The first address the egress filter and the family switches allow, or a refusal. */
function firstAllowed(ctx: DirectUdpContext, addrs: string[], what: string): string {
  const o = ctx.opts;
  for (const ip of addrs) {
    const v6 = ip.includes(':');
    if ((v6 && o.noIpv6) || (!v6 && o.noIpv4)) continue;
    if (o.egress && isForbidden(o.egress.check(ip))) continue;
    return ip;
  }
  throw new SluiceError('FORBIDDEN_EGRESS_IP', `UDP to ${what} (${addrs.join(', ')}) is forbidden by egress_network_filter`);
}

/**
 * The TTL / hop limit of a bound remote socket: the smaller of the escaper's udp_misc_opts and the task user's
 * udp_remote_misc_opts. dgram's setTTL sets IP_TTL or IPV6_UNICAST_HOPS by the socket's family.
 */
function applyTtl(ctx: DirectUdpContext, task: TaskContext, s: UdpSocket, v6: boolean): void {
  const ttl = remoteUdpTtl(ctx.udpMiscOpts, task.userResolve?.udpRemoteMiscOpts, v6);
  if (ttl === undefined) return;
  try {
    s.setTTL(ttl);
  } catch {
    // a closed socket, or a value the kernel refuses (validated at load, so only the former)
  }
}

function bindSocket(s: UdpSocket, ip: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error) => reject(new SluiceError('UPSTREAM_CONNECT_FAILED', `UDP bind failed: ${e.message}`, { cause: e }));
    s.once('error', onErr);
    s.bind({ port: 0, address: ip, exclusive: true }, () => {
      s.off('error', onErr);
      resolve();
    });
  });
}

/** UDP connect: one socket connected to the resolved upstream. */
class DirectUdpConnection implements UdpConnectSocket {
  constructor(readonly info: UdpSocketInfo, private readonly socket: UdpSocket) {}
  send(data: Uint8Array): void {
    this.socket.send(data);
  }
  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export async function directUdpConnect(
  ctx: DirectUdpContext, task: TaskContext, upstream: Upstream, receiver: UdpUpstreamReceiver, signal: CancelSignal,
): Promise<UdpConnectSocket> {
  let socket: UdpSocket | undefined;
  try {
    const ip = firstAllowed(ctx, await addressesOf(ctx, upstream), formatUpstream(upstream));
    if (signal.aborted) throw new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during UDP setup');
    const family = ip.includes(':') ? 6 : 4;
    const bindIp = pickBind(ctx.opts, family);
    socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    await bindSocket(socket, bindIp);
    applyTtl(ctx, task, socket, family === 6);
    await new Promise<void>((resolve, reject) => {
      socket!.once('error', reject);
      socket!.connect(upstream.port, ip, () => {
        socket!.off('error', reject);
        resolve();
      });
    });
    const s = socket;
    s.on('message', (msg: Buffer, rinfo: RemoteInfo) => receiver.onUpstreamPacket(msg, rinfo.address, rinfo.port));
    s.on('error', (e: Error) => receiver.onUpstreamError(new SluiceError('UPSTREAM_READ_FAILED', `UDP socket: ${e.message}`, { cause: e })));
    const local = s.address();
    const info: UdpSocketInfo = { nextBindIp: bindIp, nextBoundAddr: formatSockAddr(local.address, local.port), nextPeerAddr: formatSockAddr(ip, upstream.port), escaper: ctx.name };
    task.nextBindIp = info.nextBindIp;
    task.nextBoundAddr = info.nextBoundAddr;
    task.nextPeerAddr = info.nextPeerAddr;
    return new DirectUdpConnection(info, s);
  } catch (e) {
    socket?.close();
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    if (err.code !== 'CLIENT_CLOSED_EARLY') {
      logEscapeError(ctx.runtime, ctx, 'UdpSendto', task, [['upstream', formatUpstream(upstream)], ['reason', err.reason]], err);
    }
    throw err;
  }
}

/**
 * UDP ASSOCIATE: one socket per address family, made when the first datagram of that family goes out. IP
 * destinations go straight out after the egress check; names are resolved once per relay and cached.
 */
class DirectUdpRelay implements UdpRelaySocket {
  readonly info: UdpSocketInfo;
  private s4: UdpSocket | null = null;
  private s6: UdpSocket | null = null;
  private readonly names = new Map<string, string>();
  private readonly pending = new Map<string, Array<[number, Uint8Array]>>();
  private closed = false;

  constructor(private readonly ctx: DirectUdpContext, private readonly task: TaskContext, private readonly receiver: UdpUpstreamReceiver) {
    this.info = { escaper: ctx.name };
  }

  private readonly onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    this.receiver.onUpstreamPacket(msg, rinfo.address, rinfo.port);
  };

  private readonly onError = (e: Error): void => {
    this.fail(new SluiceError('UPSTREAM_READ_FAILED', `UDP socket: ${e.message}`, { cause: e }), undefined);
  };

  private socketFor(family: 4 | 6): UdpSocket {
    const have = family === 4 ? this.s4 : this.s6;
    if (have) return have;
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    const bindIp = pickBind(this.ctx.opts, family);
    // dgram queues sends until the bind completes, so the first datagram need not wait here.
    s.bind({ port: 0, address: bindIp, exclusive: true }, () => {
      applyTtl(this.ctx, this.task, s, family === 6);
      if (this.task.nextBoundAddr === undefined) {
        const a = s.address();
        this.task.nextBoundAddr = formatSockAddr(a.address, a.port);
      }
    });
    s.on('message', this.onMessage);
    s.on('error', this.onError);
    if (bindIp && this.task.nextBindIp === undefined) this.task.nextBindIp = bindIp;
    if (family === 4) this.s4 = s;
    else this.s6 = s;
    return s;
  }

  send(dest: Upstream, data: Uint8Array): void {
    if (this.closed) return;
    if (dest.ipFamily !== 0) {
      this.sendTo(dest.host, dest.ipFamily, dest.port, data, dest);
      return;
    }
    const ip = this.names.get(dest.host);
    if (ip !== undefined) {
      this.sendTo(ip, ip.includes(':') ? 6 : 4, dest.port, data, dest);
      return;
    }
    let q = this.pending.get(dest.host);
    if (q) {
      if (q.length < PENDING_PER_NAME) q.push([dest.port, data]);
      return;
    }
    q = [[dest.port, data]];
    this.pending.set(dest.host, q);
    void this.resolve(dest);
  }

  private async resolve(dest: Upstream): Promise<void> {
    let ip: string;
    try {
      ip = firstAllowed(this.ctx, await addressesOf(this.ctx, dest), dest.host);
    } catch (e) {
      this.pending.delete(dest.host);
      this.fail(toSluiceError(e, 'RESOLVE_FAILED'), dest);
      return;
    }
    const q = this.pending.get(dest.host) ?? [];
    this.pending.delete(dest.host);
    if (this.closed) return;
    if (this.names.size >= NAME_CACHE_MAX) this.names.clear();
    this.names.set(dest.host, ip);
    const family = ip.includes(':') ? 6 : 4;
    for (const [port, data] of q) this.sendTo(ip, family, port, data, dest);
  }

  private sendTo(ip: string, family: 4 | 6, port: number, data: Uint8Array, dest: Upstream): void {
    const o = this.ctx.opts;
    if ((family === 6 && o.noIpv6) || (family === 4 && o.noIpv4) || (o.egress && isForbidden(o.egress.check(ip)))) {
      this.fail(new SluiceError('FORBIDDEN_EGRESS_IP', `UDP to ${ip} is forbidden by egress_network_filter`), dest);
      return;
    }
    if (this.closed) return;
    this.socketFor(family).send(data, port, ip);
  }

  private fail(err: SluiceError, dest: Upstream | undefined): void {
    if (this.closed) return;
    logEscapeError(this.ctx.runtime, this.ctx, 'UdpSendto', this.task, dest ? [['upstream', formatUpstream(dest)], ['reason', err.reason]] : [['reason', err.reason]], err);
    this.receiver.onUpstreamError(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    for (const s of [this.s4, this.s6]) {
      if (!s) continue;
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}

export async function directUdpRelay(ctx: DirectUdpContext, task: TaskContext, receiver: UdpUpstreamReceiver, signal: CancelSignal): Promise<UdpRelaySocket> {
  if (signal.aborted) throw new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during UDP setup');
  return new DirectUdpRelay(ctx, task, receiver);
}
