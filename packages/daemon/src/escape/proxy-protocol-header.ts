/**
 * PROXY protocol v1/v2 header (haproxy's proxy-protocol.txt) sent to the next hop before anything else, so it
 * learns the real client address. Kept here, small, until the shared codec in @sluice/protocol lands.
 */
import { isIP } from 'node:net';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export interface SockAddr {
  ip: string;
  port: number;
}

/** `1.2.3.4:80` / `[::1]:80` → parts; undefined for anything else. */
export function splitSockAddr(s: string | undefined): SockAddr | undefined {
  if (!s) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (!m || !isIP(m[1]!)) return undefined;
  return { ip: m[1]!.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'), port: Number(m[2]) };
}

/** Address bytes in network order (IPv4 4 bytes, IPv6 16 bytes). */
export function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  let text = ip;
  // a dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = text.indexOf('::');
  const head = gap < 0 ? text.split(':') : text.slice(0, gap).split(':').filter(Boolean);
  const tail = gap < 0 ? [] : text.slice(gap + 2).split(':').filter(Boolean);
  const groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The header announcing a TCP connection from `src` to `dst`; with either unknown, the LOCAL/UNKNOWN form. */
export function encodeProxyHeader(version: 1 | 2, src: SockAddr | undefined, dst: SockAddr | undefined): Buffer {
  const fam = src && dst && isIP(src.ip) === isIP(dst.ip) ? isIP(src.ip) : 0;
  if (version === 1) {
    if (!fam) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
    return Buffer.from(`PROXY TCP${fam} ${src!.ip} ${dst!.ip} ${src!.port} ${dst!.port}\r\n`, 'latin1');
  }
  if (!fam) {
    // LOCAL command, no address block
    return Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  }
  const a = ipBytes(src!.ip);
  const b = ipBytes(dst!.ip);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(src!.port, 0);
  ports.writeUInt16BE(dst!.port, 2);
  const body = Buffer.concat([a, b, ports]);
  const head = Buffer.from([0x21, fam === 4 ? 0x11 : 0x21, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([V2_SIGNATURE, head, body]);
}
