/**
 * `tls_stream_dump`: the cleartext of intercepted TLS streams sent to a UDP peer as Wireshark "exported PDU"
 * packets (Wireshark's udpdump extcap listens for them), g3's lib/g3-udpdump layout: an inner tag block with
 * the client ⇄ proxy addresses, then a TCP tag block with the proxy ⇄ upstream addresses, a dissector hint
 * (the protocol's dissector name, else `tls.port` = the upstream port) and TCP sequence numbers, so Wireshark
 * reassembles each direction as a TCP stream. Dumping never slows the tunnel: packets go out without waiting.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { asBool, ipBytes, parseEnvSockaddr, parseSocketBuffer, parseUdpMiscOpts, ValueError, type SocketBuffer } from '@sluice/common';

export interface StreamDumpConfig {
  readonly host: string;
  readonly port: number;
  readonly packetSize: number;
  /** dump what the client side reads/writes (else the remote side, g3's default); the cleartext is the same */
  readonly clientSide: boolean;
  readonly socketBuffer: SocketBuffer | undefined;
}

const DEFAULT_PEER = '127.0.0.1:5555';

export function parseStreamDump(v: unknown): StreamDumpConfig {
  let peer = parseEnvSockaddr(DEFAULT_PEER);
  let packetSize = 1480;
  let clientSide = false;
  let socketBuffer: SocketBuffer | undefined;
  if (typeof v === 'string') peer = parseEnvSockaddr(v);
  else if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      try {
        switch (k.toLowerCase().replace(/-/g, '_')) {
          case 'peer': peer = parseEnvSockaddr(x); break;
          case 'socket_buffer': socketBuffer = parseSocketBuffer(x); break;
          case 'misc_opts': parseUdpMiscOpts(x); break; // TTL / TOS of a loopback-bound dump socket: nothing to apply
          case 'packet_size': {
            if (typeof x !== 'number' || !Number.isInteger(x) || x < 256 || x > 65507) throw new ValueError('packet_size must be an integer in 256..65507');
            packetSize = x;
            break;
          }
          case 'client_side': clientSide = asBool(x); break;
          default: throw new ValueError(`invalid key '${k}' in stream dump (peer, socket_buffer, misc_opts, packet_size, client_side)`);
        }
      } catch (e) {
        throw new ValueError((e as Error).message, [k, ...((e as ValueError).path ?? [])]);
      }
    }
  } else throw new ValueError('stream dump must be a peer address or a map');
  if (!peer.ipFamily) throw new ValueError('the dump peer must be an IP address');
  return Object.freeze({ host: peer.host, port: peer.port, packetSize, clientSide, socketBuffer });
}

// exported PDU tags (wireshark epan/exported_pdu.h)
const TAG_END = 0;
const TAG_DISSECTOR_NAME = 12;
const TAG_DISSECTOR_TABLE_NAME = 14;
const TAG_IPV4_SRC = 20;
const TAG_IPV4_DST = 21;
const TAG_IPV6_SRC = 22;
const TAG_IPV6_DST = 23;
const TAG_PORT_TYPE = 24;
const TAG_SRC_PORT = 25;
const TAG_DST_PORT = 26;
const TAG_TABLE_NUM_VAL = 32;
const TAG_TCP_INFO_DATA = 34;
const PT_TCP = 2;

interface Addr {
  ip: Buffer;
  v6: boolean;
  port: number;
}

/** `ip:port` / `[v6]:port` as logged in task fields → bytes; undefined when unknown. */
export function parseAddr(s: string | undefined): Addr | undefined {
  if (!s) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m) return undefined;
  const ip = ipBytes(m[1]!); // IPv4-mapped IPv6 comes back as IPv4
  return ip ? { ip, v6: ip.length === 16, port: Number(m[2]) } : undefined;
}

function tag(out: number[], t: number, value: ArrayLike<number>): void {
  out.push(0, t, (value.length >> 8) & 0xff, value.length & 0xff);
  for (let i = 0; i < value.length; i++) out.push(value[i]!);
}

function addrTags(out: number[], src: Addr, dst: Addr): void {
  tag(out, src.v6 ? TAG_IPV6_SRC : TAG_IPV4_SRC, src.ip);
  tag(out, dst.v6 ? TAG_IPV6_DST : TAG_IPV4_DST, dst.ip);
  tag(out, TAG_SRC_PORT, [0, 0, src.port >> 8, src.port & 0xff]);
  tag(out, TAG_DST_PORT, [0, 0, dst.port >> 8, dst.port & 0xff]);
}

/** Wireshark's dissector for a detected protocol (g3's wireshark_dissector), or undefined. */
export function wiresharkDissector(protocol: string): string | undefined {
  switch (protocol) {
    case 'http_1': return 'http';
    case 'http_2': return 'http2';
    default: return undefined;
  }
}

export interface DumpAddresses {
  client: string | undefined;
  localServer: string | undefined;
  localClient: string | undefined;
  remote: string | undefined;
}

/** One direction's fixed header; the TCP info data (seq, next seq, ack) is patched per packet. */
function header(inner: [Addr, Addr], tcp: [Addr, Addr], dissector: string | undefined, upstreamPort: number): { buf: Buffer; seqAt: number } {
  const out: number[] = [];
  tag(out, TAG_DISSECTOR_NAME, Buffer.from('exported_pdu'));
  addrTags(out, inner[0], inner[1]);
  tag(out, TAG_END, []);
  if (dissector) tag(out, TAG_DISSECTOR_NAME, Buffer.from(dissector));
  else {
    tag(out, TAG_DISSECTOR_TABLE_NAME, Buffer.from('tls.port'));
    tag(out, TAG_TABLE_NUM_VAL, [0, 0, upstreamPort >> 8, upstreamPort & 0xff]);
  }
  addrTags(out, tcp[0], tcp[1]);
  tag(out, TAG_PORT_TYPE, [0, 0, 0, PT_TCP]);
  // tcp dissector data: version 1, seq, next seq, last ack, is_reassembled, tcp flags (PSH|ACK)
  const seqAt = out.length + 6;
  tag(out, TAG_TCP_INFO_DATA, [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0x18, 0, 0]);
  tag(out, TAG_END, []);
  return { buf: Buffer.from(out), seqAt };
}

/** The dump socket of one auditor. */
export class StreamDumper {
  private readonly sock: UdpSocket;

  constructor(readonly config: StreamDumpConfig) {
    this.sock = createSocket(isIP(config.host) === 6 ? 'udp6' : 'udp4');
    this.sock.on('error', () => {}); // a dump peer that is away must not matter to the tunnels
    this.sock.unref();
    if (config.socketBuffer?.sendSize) {
      const size = config.socketBuffer.sendSize;
      this.sock.bind(0, isIP(config.host) === 6 ? '::' : '0.0.0.0', () => this.sock.setSendBufferSize(size));
    }
  }

  /**
   * Dump a TLS layer's cleartext: `toRemote` is what the client sent, `toClient` what the upstream sent.
   * Returns the two taps to feed, or undefined when the addresses are not known.
   */
  session(addrs: DumpAddresses, protocol: string, upstreamPort: number): { toRemote(b: Buffer): void; toClient(b: Buffer): void } | undefined {
    const client = parseAddr(addrs.client);
    const localServer = parseAddr(addrs.localServer);
    const localClient = parseAddr(addrs.localClient);
    const remote = parseAddr(addrs.remote);
    if (!client || !localServer || !localClient || !remote) return undefined;
    const dissector = wiresharkDissector(protocol);
    const up = header([client, localServer], [localClient, remote], dissector, upstreamPort);
    const down = header([localServer, client], [remote, localClient], dissector, upstreamPort);
    // TCP sequence numbers of each direction, starting at 1 as g3
    let seqUp = 1;
    let seqDown = 1;
    const send = (h: { buf: Buffer; seqAt: number }, data: Buffer, seq: number, ack: number): number => {
      const room = Math.max(1, this.config.packetSize - h.buf.length);
      for (let off = 0; off < data.length; off += room) {
        const piece = data.subarray(off, Math.min(data.length, off + room));
        const pkt = Buffer.allocUnsafe(h.buf.length + piece.length);
        h.buf.copy(pkt);
        pkt.writeUInt32BE(seq >>> 0, h.seqAt);
        pkt.writeUInt32BE((seq + piece.length) >>> 0, h.seqAt + 4);
        pkt.writeUInt32BE(ack >>> 0, h.seqAt + 8);
        piece.copy(pkt, h.buf.length);
        this.sock.send(pkt, this.config.port, this.config.host);
        seq = (seq + piece.length) >>> 0;
      }
      return seq;
    };
    return {
      toRemote: (b) => {
        seqUp = send(up, b, seqUp, seqDown);
      },
      toClient: (b) => {
        seqDown = send(down, b, seqDown, seqUp);
      },
    };
  }

  close(): void {
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}
