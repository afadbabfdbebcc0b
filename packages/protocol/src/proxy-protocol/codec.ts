/**
 * The PROXY protocol (haproxy's proxy-protocol.txt), versions 1 (text) and 2 (binary, with TLVs): an
 * incremental, strict decoder for the header a load balancer puts in front of a connection, and encoders for
 * sending one upstream. The decoder never reads past the header, so the bytes after it go to the real protocol.
 */
import { isIPv4, isIPv6 } from 'node:net';

export class ProxyProtocolError extends Error {
  override get name(): string {
    return 'ProxyProtocolError';
  }
}

export interface ProxyEndpoint {
  ip: string;
  port: number;
}

export interface ProxyTlv {
  type: number;
  value: Buffer;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** `local`: a health check by the proxy itself, the addresses are meaningless (v2 only; v1 UNKNOWN maps here) */
  command: 'proxy' | 'local';
  family: 'inet' | 'inet6' | 'unix' | 'unspec';
  transport: 'stream' | 'dgram' | 'unspec';
  /** set for inet/inet6 with command proxy */
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  /** v2 type-length-value extensions, in order */
  tlvs: ProxyTlv[];
  /** size of the header on the wire */
  length: number;
}

export const PP2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** the longest v1 line, CRLF included */
const V1_MAX = 107;

/** TLV types named by the spec. */
export const PP2_TYPE = {
  ALPN: 0x01, AUTHORITY: 0x02, CRC32C: 0x03, NOOP: 0x04, UNIQUE_ID: 0x05, SSL: 0x20, NETNS: 0x30,
} as const;

export interface ProxyDecoderOptions {
  /** which versions are accepted (default both) */
  versions?: ReadonlyArray<1 | 2>;
  /** largest v2 header accepted, fixed part included (default 4096) */
  maxV2Bytes?: number;
}

/**
 * Feed bytes with push() until it returns the header. It returns `null` while more bytes are needed and throws
 * ProxyProtocolError as soon as the bytes can't be a valid header (a plain client that sends `GET /` fails at
 * once, not after a timeout).
 */
export class ProxyHeaderDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private readonly v1: boolean;
  private readonly v2: boolean;
  private readonly maxV2: number;

  constructor(opts: ProxyDecoderOptions = {}) {
    const versions = opts.versions ?? [1, 2];
    this.v1 = versions.includes(1);
    this.v2 = versions.includes(2);
    this.maxV2 = opts.maxV2Bytes ?? 4096;
  }

  get bufferedBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): { header: ProxyHeader; rest: Buffer } | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const b = this.buf;
    if (b.length === 0) return null;
    if (b[0] === 0x50 /* P */) {
      if (!this.v1) throw new ProxyProtocolError('PROXY protocol v1 header not accepted here');
      return this.pushV1(b);
    }
    if (b[0] === 0x0d) {
      if (!this.v2) throw new ProxyProtocolError('PROXY protocol v2 header not accepted here');
      return this.pushV2(b);
    }
    throw new ProxyProtocolError('no PROXY protocol header');
  }

  private pushV1(b: Buffer): { header: ProxyHeader; rest: Buffer } | null {
    const n = Math.min(b.length, V1_PREFIX.length);
    if (b.compare(V1_PREFIX, 0, n, 0, n) !== 0) throw new ProxyProtocolError('bad PROXY v1 prefix');
    const lf = b.indexOf(0x0a);
    if (lf < 0) {
      if (b.length >= V1_MAX) throw new ProxyProtocolError('PROXY v1 line too long');
      return null;
    }
    if (lf + 1 > V1_MAX) throw new ProxyProtocolError('PROXY v1 line too long');
    if (b[lf - 1] !== 0x0d) throw new ProxyProtocolError('PROXY v1 line must end with CRLF');
    const header = parseV1Line(b.toString('latin1', 0, lf - 1));
    header.length = lf + 1;
    this.buf = Buffer.alloc(0);
    return { header, rest: b.subarray(lf + 1) };
  }

  private pushV2(b: Buffer): { header: ProxyHeader; rest: Buffer } | null {
    const n = Math.min(b.length, PP2_SIGNATURE.length);
    if (b.compare(PP2_SIGNATURE, 0, n, 0, n) !== 0) throw new ProxyProtocolError('bad PROXY v2 signature');
    if (b.length < 16) return null;
    const len = 16 + b.readUInt16BE(14);
    if (len > this.maxV2) throw new ProxyProtocolError(`PROXY v2 header of ${len} bytes is larger than ${this.maxV2}`);
    if (b.length < len) return null;
    const header = parseV2(b.subarray(0, len));
    this.buf = Buffer.alloc(0);
    return { header, rest: b.subarray(len) };
  }
}

function v1Port(s: string): number {
  // decimal without leading zeros, as the spec writes them
  if (!/^(0|[1-9][0-9]{0,4})$/.test(s)) throw new ProxyProtocolError(`bad PROXY v1 port '${s}'`);
  const n = Number(s);
  if (n > 65535) throw new ProxyProtocolError(`bad PROXY v1 port '${s}'`);
  return n;
}

function parseV1Line(line: string): ProxyHeader {
  const parts = line.split(' ');
  if (parts[1] === 'UNKNOWN') {
    // the rest of the line is to be ignored
    return { version: 1, command: 'local', family: 'unspec', transport: 'unspec', tlvs: [], length: 0 };
  }
  if (parts.length !== 6) throw new ProxyProtocolError('PROXY v1 line needs 6 fields separated by single spaces');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  let family: 'inet' | 'inet6';
  if (proto === 'TCP4') {
    if (!isIPv4(src) || !isIPv4(dst)) throw new ProxyProtocolError('bad PROXY v1 IPv4 address');
    family = 'inet';
  } else if (proto === 'TCP6') {
    if (!isIPv6(src) || !isIPv6(dst)) throw new ProxyProtocolError('bad PROXY v1 IPv6 address');
    family = 'inet6';
  } else throw new ProxyProtocolError(`bad PROXY v1 protocol '${proto.slice(0, 16)}'`);
  return {
    version: 1, command: 'proxy', family, transport: 'stream',
    source: { ip: src, port: v1Port(sport) }, destination: { ip: dst, port: v1Port(dport) }, tlvs: [], length: 0,
  };
}

function ipv6Text(b: Buffer, off: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(off + i * 2).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function parseV2(b: Buffer): ProxyHeader {
  const verCmd = b[12]!;
  if (verCmd >> 4 !== 2) throw new ProxyProtocolError(`bad PROXY v2 version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) throw new ProxyProtocolError(`bad PROXY v2 command ${cmd}`);
  const famByte = b[13]!;
  const fam = famByte >> 4;
  const proto = famByte & 0x0f;
  if (fam > 3 || proto > 2) throw new ProxyProtocolError(`bad PROXY v2 family/transport byte 0x${famByte.toString(16)}`);
  const family = (['unspec', 'inet', 'inet6', 'unix'] as const)[fam]!;
  const transport = (['unspec', 'stream', 'dgram'] as const)[proto]!;
  const header: ProxyHeader = { version: 2, command: cmd === 1 ? 'proxy' : 'local', family, transport, tlvs: [], length: b.length };
  let off = 16;
  const addrLen = family === 'inet' ? 12 : family === 'inet6' ? 36 : family === 'unix' ? 216 : 0;
  if (b.length < 16 + addrLen) throw new ProxyProtocolError('PROXY v2 header too short for its address family');
  if (family === 'inet') {
    header.source = { ip: `${b[16]}.${b[17]}.${b[18]}.${b[19]}`, port: b.readUInt16BE(24) };
    header.destination = { ip: `${b[20]}.${b[21]}.${b[22]}.${b[23]}`, port: b.readUInt16BE(26) };
  } else if (family === 'inet6') {
    header.source = { ip: ipv6Text(b, 16), port: b.readUInt16BE(48) };
    header.destination = { ip: ipv6Text(b, 32), port: b.readUInt16BE(50) };
  }
  off += addrLen;
  while (off < b.length) {
    if (off + 3 > b.length) throw new ProxyProtocolError('truncated PROXY v2 TLV');
    const type = b[off]!;
    const len = b.readUInt16BE(off + 1);
    if (off + 3 + len > b.length) throw new ProxyProtocolError('PROXY v2 TLV runs past the header');
    header.tlvs.push({ type, value: b.subarray(off + 3, off + 3 + len) });
    if (type === PP2_TYPE.CRC32C) {
      if (len !== 4) throw new ProxyProtocolError('PROXY v2 CRC32C TLV must be 4 bytes');
      const want = b.readUInt32BE(off + 3);
      // the checksum covers the whole header with the checksum field zeroed
      const copy = Buffer.from(b);
      copy.writeUInt32BE(0, off + 3);
      if (crc32c(copy) !== want) throw new ProxyProtocolError('PROXY v2 CRC32C mismatch');
    }
    off += 3 + len;
  }
  if (header.command === 'local') {
    delete header.source;
    delete header.destination;
  }
  return header;
}

let CRC_TABLE: Uint32Array | undefined;
/** CRC-32C (Castagnoli), as the PP2_TYPE_CRC32C TLV uses. */
export function crc32c(b: Buffer): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      CRC_TABLE[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < b.length; i++) crc = CRC_TABLE[(crc ^ b[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---- encoders ---------------------------------------------------------------------------------------------------

export interface ProxyEncodeInput {
  source: ProxyEndpoint;
  destination: ProxyEndpoint;
}

function familyOf(a: ProxyEncodeInput): 4 | 6 {
  const s = a.source.ip, d = a.destination.ip;
  if (isIPv4(s) && isIPv4(d)) return 4;
  if (isIPv6(s) && isIPv6(d)) return 6;
  throw new ProxyProtocolError('source and destination must both be IPv4 or both IPv6');
}

/** A v1 line, `PROXY TCP4 1.2.3.4 5.6.7.8 1234 80\r\n`; `null` gives `PROXY UNKNOWN\r\n`. */
export function encodeProxyV1(a: ProxyEncodeInput | null): Buffer {
  if (!a) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  const fam = familyOf(a);
  return Buffer.from(`PROXY TCP${fam} ${a.source.ip} ${a.destination.ip} ${a.source.port} ${a.destination.port}\r\n`, 'latin1');
}

function ipBytes(ip: string, fam: 4 | 6): Buffer {
  if (fam === 4) return Buffer.from(ip.split('.').map(Number));
  // expand `::` and an embedded IPv4 tail
  let s = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/**
 * A v2 header. `null` addresses give a LOCAL command (health check). TLVs are appended in order; with `crc` a
 * CRC32C TLV is added and filled in.
 */
export function encodeProxyV2(a: ProxyEncodeInput | null, tlvs: ProxyTlv[] = [], crc = false): Buffer {
  const fam = a ? familyOf(a) : 0;
  const addrLen = fam === 4 ? 12 : fam === 6 ? 36 : 0;
  let tlvLen = 0;
  for (const t of tlvs) tlvLen += 3 + t.value.length;
  if (crc) tlvLen += 7;
  const total = 16 + addrLen + tlvLen;
  if (total - 16 > 0xffff) throw new ProxyProtocolError('PROXY v2 header too large');
  const b = Buffer.alloc(total);
  PP2_SIGNATURE.copy(b, 0);
  b[12] = a ? 0x21 : 0x20;
  b[13] = fam === 4 ? 0x11 : fam === 6 ? 0x21 : 0x00;
  b.writeUInt16BE(total - 16, 14);
  let off = 16;
  if (a && fam) {
    const n = fam === 4 ? 4 : 16;
    ipBytes(a.source.ip, fam).copy(b, off);
    ipBytes(a.destination.ip, fam).copy(b, off + n);
    b.writeUInt16BE(a.source.port, off + 2 * n);
    b.writeUInt16BE(a.destination.port, off + 2 * n + 2);
    off += addrLen;
  }
  for (const t of tlvs) {
    b[off] = t.type;
    b.writeUInt16BE(t.value.length, off + 1);
    t.value.copy(b, off + 3);
    off += 3 + t.value.length;
  }
  if (crc) {
    b[off] = PP2_TYPE.CRC32C;
    b.writeUInt16BE(4, off + 1);
    b.writeUInt32BE(crc32c(b), off + 3);
  }
  return b;
}

/**
 * The header a proxy sends to its next hop for one TCP connection: `PROXY TCP4|TCP6 …` / a v2 PROXY command when
 * both ends are known IPs of one family, else the form that says "no address" (v1 UNKNOWN, v2 LOCAL). A next hop
 * must still get a header then, since it expects one before any other byte.
 */
export function encodeProxyHeader(version: 1 | 2, source: ProxyEndpoint | undefined, destination: ProxyEndpoint | undefined): Buffer {
  const sameFamily = source !== undefined && destination !== undefined
    && ((isIPv4(source.ip) && isIPv4(destination.ip)) || (isIPv6(source.ip) && isIPv6(destination.ip)));
  const a = sameFamily ? { source: source!, destination: destination! } : null;
  return version === 1 ? encodeProxyV1(a) : encodeProxyV2(a);
}
