/**
 * SOCKS5 UDP: the client-facing UDP socket and its relay through the escaper, for as long as the TCP
 * connection that asked for it stays open (RFC 1928 §7).
 *
 * - `associate` (the server's use_udp_associate or the user's socks_use_udp_associate): every datagram names its
 *   destination, checked per datagram (a forbidden one is dropped); replies carry their source.
 * - `connect` (the default, g3's "udp connect"): the first datagram fixes the destination, the escaper's socket
 *   is connected to it, later datagrams go there whatever their header says, and replies carry that address.
 *
 * Only datagrams from the client's address are relayed: the IP (and port, if non-zero) given in the request,
 * else the TCP client's IP; the port of the first accepted datagram then sticks. The per-datagram path uses
 * this object's methods only (no closures per packet) and a cached reply header per peer.
 */
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { isForbidden, SluiceError, toSluiceError, type TaskReason } from '@sluice/common';
import { encodeSocks5Reply, readUdpHeader, SocksParseError, udpHeaderSize, writeUdpHeader, type SocksAddress } from '@sluice/protocol';
import type { Escaper, UdpConnectSocket, UdpRelaySocket, UdpUpstreamReceiver } from '../../escape/types.js';
import { authorizeSocksTask, socksUserOf } from '../../auth/socks-auth.js';
import { clientUdpTtl } from '../../auth/user-socket-opts.js';
import { formatSockAddr, formatUpstream, type Upstream } from '../../task/task.js';
import { UdpTask } from '../../task/udp-task.js';
import type { ActiveTask, SocksConnection } from './connection.js';
import { advertisedUdpIp, bindClientUdp, UdpBudget } from './udp-support.js';
import { UdpUserLimits } from './udp-user.js';
import { Cancel } from '../../runtime/cancel.js';

/** Datagrams held while UDP connect sets up its upstream socket. */
const SETUP_QUEUE_MAX = 32;

function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

export class SocksUdpSession implements ActiveTask, UdpUpstreamReceiver {
  private readonly task: UdpTask;
  private clientUdp: UdpSocket | null = null;
  private relay: UdpRelaySocket | null = null;
  private upConn: UdpConnectSocket | null = null;
  private settingUp = false;
  private readonly setupQueue: Buffer[] = [];
  private readonly abortCtl = new Cancel();
  private ended = false;
  private initialTimer: NodeJS.Timeout | undefined;
  /** client UDP source: IP always known; port 0 until the first datagram (or given in the request) */
  private clientIp: string;
  private clientPort: number;
  private portLocked: boolean;
  private activity = 0;
  private idleChecks = 0;
  private readonly up: UdpBudget | null;
  private readonly down: UdpBudget | null;
  /** the user's per-datagram limits and filters; null without a user or when the user sets none */
  private userLimits: UdpUserLimits | null = null;
  // reply-header cache: the last peer's header (associate), or the fixed upstream's (connect)
  private hdrIp = '';
  private hdrPort = -1;
  private hdr: Buffer = Buffer.alloc(0);
  private readonly sendList: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];

  constructor(private readonly conn: SocksConnection, request: SocksAddress, private readonly mode: 'associate' | 'connect') {
    const server = conn.server;
    this.task = new UdpTask(mode === 'associate' ? 'UdpAssociate' : 'UdpConnect', server.name, server.logName, conn.info.clientAddr, conn.info.serverAddr);
    this.task.user = conn.user;
    const requestIp = request.ipFamily !== 0 && !isUnspecified(request.host) ? request.host : null;
    this.clientIp = requestIp ?? conn.info.clientIp;
    this.clientPort = request.ipFamily !== 0 ? request.port : 0;
    this.portLocked = this.clientPort !== 0;
    const lim = server.config.udpSpeedLimit;
    this.up = lim ? new UdpBudget(lim, lim.maxUploadBytes, lim.maxUploadPackets) : null;
    this.down = lim ? new UdpBudget(lim, lim.maxDownloadBytes, lim.maxDownloadPackets) : null;
  }

  async start(): Promise<void> {
    const server = this.conn.server;
    const task = this.task;
    server.beginTask(task);
    // g3 writes a UDP task's Created record as it starts; udp connect reaches markWait only at its first datagram
    task.events?.created(task);
    task.stage = 'Preparing';
    // the user's checks for the command itself; destinations come per datagram
    const refused = await authorizeSocksTask(server.name, this.conn.info, task, 'SocksUdpAssociate', undefined, this.conn.socket, server.config.escaper);
    if (refused) {
      this.end(refused, true);
      return;
    }
    const user = socksUserOf(this.conn.info);
    if (user && UdpUserLimits.needed(user)) this.userLimits = new UdpUserLimits(user, user.statsFor(server.name, 'socks_udp_associate'));
    const escaper: Escaper = server.escaper();
    task.escaper = escaper.name;
    const can = this.mode === 'associate' ? escaper.udpSetupRelay : escaper.udpSetupConnection;
    if (!can) {
      this.end(new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', `escaper ${escaper.name} cannot carry UDP`), true);
      return;
    }
    if (!server.ingressAllowed(this.clientIp)) {
      this.end(new SluiceError('FORBIDDEN_BY_RULE', `UDP client address ${this.clientIp} is forbidden by ingress_network_filter`), true);
      return;
    }
    try {
      this.clientUdp = await bindClientUdp(server.config, this.conn.info.serverIp);
    } catch (e) {
      this.end(toSluiceError(e, 'INTERNAL'), true);
      return;
    }
    if (this.ended) return this.closeSockets();
    const userOpts = user?.config.udpClientMiscOpts;
    if (userOpts) {
      const ttl = clientUdpTtl(server.config.udpTtl, userOpts, this.conn.info.serverIp.includes(':'));
      try {
        if (ttl !== undefined) this.clientUdp.setTTL(ttl);
      } catch {
        // out of range for this family: keep what the server set
      }
    }
    this.clientUdp.on('message', this.onClientPacket);
    this.clientUdp.on('error', this.onClientUdpError);
    const local = this.clientUdp.address();
    task.udpServerAddr = formatSockAddr(local.address, local.port);
    if (this.mode === 'associate') {
      // the relay is made before the reply so an escaper that refuses UDP is answered with its own reply code
      try {
        this.relay = await escaper.udpSetupRelay!(task, this, this.abortCtl.signal);
      } catch (e) {
        this.end(toSluiceError(e, 'UPSTREAM_CONNECT_FAILED'), true);
        return;
      }
      if (this.ended) return this.closeSockets();
    }
    task.stage = 'Replying';
    const reply = encodeSocks5Reply(0x00, advertisedUdpIp(server.config, local.address), local.port);
    // c_*/r_* counters of a UDP task count datagrams only, not the TCP negotiation
    this.conn.socket.write(reply);
    this.initialTimer = setTimeout(this.onInitialTimeout, server.config.udpClientInitialTimeoutMs);
    this.initialTimer.unref();
  }

  // ---- client → upstream --------------------------------------------------------------------------------------

  private readonly onClientPacket = (msg: Buffer, rinfo: RemoteInfo): void => {
    if (this.ended) return;
    const stats = this.conn.server.stats;
    const ip = plainIp(rinfo.address);
    if (ip !== this.clientIp || (this.portLocked && rinfo.port !== this.clientPort)) {
      stats.udpDropped++;
      return;
    }
    if (msg.length > this.conn.server.config.udpPacketSize || (this.up && !this.up.allow(msg.length))
      || (this.userLimits && !this.userLimits.allowUpload(msg.length))) {
      stats.udpDropped++;
      return;
    }
    let h;
    try {
      h = readUdpHeader(msg);
    } catch (e) {
      this.end(new SluiceError(e instanceof SocksParseError && e.kind === 'address-type' ? 'CLIENT_ADDRESS_TYPE_UNSUPPORTED' : 'CLIENT_PROTOCOL_INVALID', `bad UDP datagram: ${(e as Error).message}`), false);
      return;
    }
    if (h.frag !== 0) {
      // fragmentation is optional in RFC 1928 and not implemented: such datagrams are dropped
      stats.udpDropped++;
      return;
    }
    if (!this.portLocked) {
      this.portLocked = true;
      this.clientPort = rinfo.port;
    }
    if (this.task.udpClientAddr === undefined) {
      clearTimeout(this.initialTimer);
      this.task.udpClientAddr = formatSockAddr(ip, rinfo.port);
    }
    this.activity++;
    const payload = msg.subarray(h.dataOffset);
    this.task.cRdBytes += msg.length;
    this.task.cRdPackets++;
    stats.udpInBytes += msg.length;
    stats.udpInPackets++;
    if (this.mode === 'associate') {
      const dest: Upstream = h.addr;
      // each datagram names its own destination: a forbidden one is dropped, the association goes on
      if (!this.destinationAllowed(dest)) {
        stats.udpDropped++;
        return;
      }
      if (this.task.initialPeer === undefined) {
        this.task.initialPeer = formatUpstream(dest);
        this.task.stage = 'Relaying';
        this.task.markReady();
      }
      this.task.rWrBytes += payload.length;
      this.task.rWrPackets++;
      this.relay!.send(dest, payload);
      return;
    }
    if (this.upConn) {
      this.task.rWrBytes += payload.length;
      this.task.rWrPackets++;
      this.upConn.send(payload);
      return;
    }
    if (this.settingUp) {
      if (this.setupQueue.length < SETUP_QUEUE_MAX) this.setupQueue.push(payload);
      else stats.udpDropped++;
      return;
    }
    void this.connectUpstream(h.addr, payload);
  };

  /**
   * The destination filters for one associate datagram: the server's dst_port_filter (its host filter set does
   * not apply to UDP ASSOCIATE, as g3 documents), then the user's port and host filters.
   */
  private destinationAllowed(dest: Upstream): boolean {
    const server = this.conn.server;
    const ports = server.config.dstPorts;
    if (ports && isForbidden(ports.check(dest.port))) {
      server.stats.forbiddenDestDenied++;
      return false;
    }
    return !this.userLimits || this.userLimits.allowDestination(dest);
  }

  /** UDP connect: the first datagram's destination becomes the task's upstream. */
  private async connectUpstream(dest: SocksAddress, first: Buffer): Promise<void> {
    const server = this.conn.server;
    const task = this.task;
    const upstream: Upstream = { host: dest.host, port: dest.port, ipFamily: dest.ipFamily };
    task.upstream = upstream;
    const denied = server.checkDestination(upstream);
    if (denied) return this.end(denied, false);
    if (this.userLimits && !this.userLimits.allowDestination(upstream)) {
      return this.end(new SluiceError('FORBIDDEN_DESTINATION', `${formatUpstream(upstream)} is forbidden for user '${this.userLimits.user.name}'`), false);
    }
    this.settingUp = true;
    this.setupQueue.push(first);
    task.stage = 'Connecting';
    task.markWait();
    try {
      this.upConn = await server.escaper().udpSetupConnection!(task, upstream, this, this.abortCtl.signal);
    } catch (e) {
      this.end(toSluiceError(e, 'UPSTREAM_CONNECT_FAILED'), false);
      return;
    }
    this.settingUp = false;
    if (this.ended) {
      this.upConn.close();
      return;
    }
    task.stage = 'Relaying';
    task.markReady();
    for (const p of this.setupQueue) {
      task.rWrBytes += p.length;
      task.rWrPackets++;
      this.upConn.send(p);
    }
    this.setupQueue.length = 0;
  }

  // ---- upstream → client --------------------------------------------------------------------------------------

  onUpstreamPacket(data: Buffer, fromIp: string, fromPort: number): void {
    if (this.ended || !this.clientUdp || !this.portLocked) return;
    const stats = this.conn.server.stats;
    this.task.rRdBytes += data.length;
    this.task.rRdPackets++;
    this.activity++;
    // UDP connect answers with the upstream as the client named it; associate with the real source
    const u = this.mode === 'connect' ? this.task.upstream! : null;
    const hostForHeader = u ? u.host : plainIp(fromIp);
    const portForHeader = u ? u.port : fromPort;
    if (hostForHeader !== this.hdrIp || portForHeader !== this.hdrPort) {
      this.hdr = Buffer.allocUnsafe(udpHeaderSize(hostForHeader));
      writeUdpHeader(this.hdr, hostForHeader, portForHeader);
      this.hdrIp = hostForHeader;
      this.hdrPort = portForHeader;
    }
    const size = this.hdr.length + data.length;
    if (size > this.conn.server.config.udpPacketSize || (this.down && !this.down.allow(size))
      || (this.userLimits && !this.userLimits.allowDownload(size))) {
      stats.udpDropped++;
      return;
    }
    this.sendList[0] = this.hdr;
    this.sendList[1] = data;
    this.clientUdp.send(this.sendList, this.clientPort, this.clientIp);
    this.task.cWrBytes += size;
    this.task.cWrPackets++;
    stats.udpOutBytes += size;
    stats.udpOutPackets++;
  }

  onUpstreamError(err: SluiceError): void {
    this.end(err, false);
  }

  // ---- the TCP control connection and the end ---------------------------------------------------------------

  onClientData(_chunk?: Buffer): void {
    this.end(new SluiceError('CLIENT_PROTOCOL_INVALID', 'unexpected data on the TCP connection of a UDP session'), false);
  }

  onClientGone(how: 'end' | 'error'): void {
    this.end(null, false, how === 'end' ? 'ClosedByClient' : 'ClientTcpReadFailed');
  }

  private readonly onClientUdpError = (e: Error): void => {
    this.end(new SluiceError('CLIENT_READ_FAILED', `client UDP socket: ${e.message}`), false);
  };

  private readonly onInitialTimeout = (): void => {
    if (this.task.udpClientAddr === undefined) {
      this.end(new SluiceError('CLIENT_HEAD_TIMEOUT', 'no UDP datagram from the client within udp_client_initial_timeout'), false);
    }
  };

  idleTick(max: number): boolean {
    if (this.activity > 0) {
      this.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    // before the first datagram the initial timeout is in charge
    if (this.task.udpClientAddr === undefined) return false;
    // the user's task_idle_max_count replaces the server's
    if (++this.idleChecks < (this.task.userResolve?.idleMaxCount ?? max)) return false;
    this.end(null, false, 'Idle');
    return true;
  }

  abort(): void {
    this.end(null, false, 'CanceledAsServerQuit');
  }

  private closeSockets(): void {
    clearTimeout(this.initialTimer);
    this.abortCtl.abort();
    this.relay?.close();
    this.upConn?.close();
    if (this.clientUdp) {
      try {
        this.clientUdp.close();
      } catch {
        // already closed
      }
    }
  }

  /** End the task once: close sockets, reply if nothing was replied yet and `reply`, log, close the TCP side. */
  private end(err: SluiceError | null, reply: boolean, reason?: TaskReason): void {
    if (this.ended) return;
    this.ended = true;
    this.closeSockets();
    if (err) this.task.error = err;
    if (reason) this.task.reason = reason;
    const sock = this.conn.socket;
    if (reply && err && !sock.destroyed) {
      sock.write(encodeSocks5Reply(err.socksReply));
    }
    this.conn.server.endTask(this.task);
    this.conn.active = null;
    this.conn.close();
  }
}
