/**
 * UDP through a SOCKS5 next proxy (RFC 1928 §7): a UDP ASSOCIATE on a control connection, then datagrams to the
 * relay address the peer answered, each wrapped in the SOCKS UDP header. Serves both the SOCKS server's UDP
 * connect (one fixed destination: the header is built once) and UDP ASSOCIATE (a destination per datagram).
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import { encodeUdpHeader, readUdpHeader, type UdpHeader } from '@sluice/protocol';
import { formatSockAddr, type Upstream } from '../../task/task.js';
import type { UdpConnectSocket, UdpRelaySocket, UdpSocketInfo, UdpUpstreamReceiver } from '../types.js';
import type { ProxySocks5Config } from './config.js';

/** The relay address to send to: 0.0.0.0/:: means "the address you reached me on"; transmute_udp_peer_ip rewrites. */
export function relayTarget(bound: { host: string; port: number }, control: Socket, cfg: ProxySocks5Config): { host: string; port: number } {
  let host = bound.host;
  const peerIp = control.remoteAddress ?? host;
  if (host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0' || cfg.transmuteUdpPeerIp === true) host = peerIp;
  else if (typeof cfg.transmuteUdpPeerIp === 'object' && cfg.transmuteUdpPeerIp[host]) host = cfg.transmuteUdpPeerIp[host]!;
  return { host, port: bound.port };
}

export class Socks5UdpRelay implements UdpRelaySocket, UdpConnectSocket {
  readonly info: UdpSocketInfo;
  private closed = false;
  /** fixed destination header for UDP connect */
  private fixedHead: Buffer | null = null;

  private constructor(
    private readonly control: Socket,
    private readonly socket: UdpSocket,
    private readonly relay: { host: string; port: number },
    private readonly receiver: UdpUpstreamReceiver,
    escaper: string,
    endOnControlClosed: boolean,
  ) {
    const local = socket.address();
    this.info = { nextBindIp: local.address, nextBoundAddr: formatSockAddr(local.address, local.port), nextPeerAddr: formatSockAddr(relay.host, relay.port), escaper };
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo));
    socket.on('error', (e) => this.fail(new SluiceError('UPSTREAM_READ_FAILED', `UDP with the SOCKS peer failed: ${e.message}`, { cause: e })));
    // the association lives as long as the control connection (RFC 1928 §7)
    control.on('error', () => {});
    control.on('close', () => {
      if (endOnControlClosed) this.fail(new SluiceError('UPSTREAM_CLOSED', 'the SOCKS peer closed the UDP control connection'));
    });
    control.resume(); // nothing more is expected on it; keep reading so a close is seen
  }

  static async open(control: Socket, relayHost: string, relayPort: number, receiver: UdpUpstreamReceiver, escaper: string, endOnControlClosed: boolean): Promise<Socks5UdpRelay> {
    const fam = isIP(relayHost) === 6 ? 'udp6' : 'udp4';
    const s = createSocket(fam);
    // same local address as the control connection: SOCKS servers match UDP clients by address
    const local = control.localAddress && isIP(control.localAddress) === (fam === 'udp6' ? 6 : 4) ? control.localAddress : undefined;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ port: 0, address: local }, () => {
        s.off('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      s.close();
      throw new SluiceError('UPSTREAM_CONNECT_FAILED', `UDP bind failed: ${e.message}`, { cause: e });
    });
    return new Socks5UdpRelay(control, s, { host: relayHost, port: relayPort }, receiver, escaper, endOnControlClosed);
  }

  fixDestination(dest: Upstream): this {
    this.fixedHead = encodeUdpHeader(dest.host, dest.port);
    return this;
  }

  send(a: Upstream | Uint8Array, b?: Uint8Array): void {
    if (this.closed) return;
    let head: Buffer;
    let data: Uint8Array;
    if (b === undefined) {
      head = this.fixedHead!;
      data = a as Uint8Array;
    } else {
      const dest = a as Upstream;
      head = encodeUdpHeader(dest.host, dest.port);
      data = b;
    }
    this.socket.send([head, data], this.relay.port, this.relay.host);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    // only the relay may answer; anything else is noise
    if (rinfo.port !== this.relay.port || rinfo.address.replace(/^::ffff:/, '') !== this.relay.host) return;
    let h: UdpHeader;
    try {
      h = readUdpHeader(msg);
    } catch {
      return; // not a SOCKS UDP datagram: drop it
    }
    if (h.frag !== 0) return; // fragments are not supported: drop, as RFC 1928 allows
    this.receiver.onUpstreamPacket(msg.subarray(h.dataOffset), h.addr.host, h.addr.port);
  }

  private fail(err: SluiceError): void {
    if (this.closed) return;
    this.close();
    this.receiver.onUpstreamError(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.control.destroy();
  }
}
