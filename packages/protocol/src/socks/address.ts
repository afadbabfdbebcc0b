/**
 * SOCKS addresses (RFC 1928 §5): ATYP 1 = IPv4 (4 bytes), 3 = domain (1 length byte + name), 4 = IPv6 (16 bytes),
 * each followed by a 2-byte port. Shared by requests, replies and UDP headers.
 */
import { formatIpv4, formatIpv6, normalizeIp, parseIpv4 } from '@sluice/common';
import { SocksParseError } from './errors.js';

export const ATYP_IPV4 = 0x01;
export const ATYP_DOMAIN = 0x03;
export const ATYP_IPV6 = 0x04;

export interface SocksAddress {
  /** IP text (canonical) or domain name */
  host: string;
  port: number;
  /** 4 or 6 for an IP literal, 0 for a domain */
  ipFamily: 0 | 4 | 6;
}

const v6Words = new Uint32Array(4);

/**
 * Family of an IP literal and its words in `v6Words` (one word for IPv4): IPv4-mapped IPv6 counts as IPv4, as
 * everywhere else in sluice. 0 for anything that is not an IP literal.
 */
function parseIpWords(host: string): 0 | 4 | 6 {
  const n = normalizeIp(host);
  if (n === null) return 0;
  if (n.indexOf(':') < 0) {
    v6Words[0] = parseIpv4(n);
    return 4;
  }
  // canonical text: at most one '::', no embedded IPv4 (normalizeIp turned mapped addresses into IPv4)
  const dbl = n.indexOf('::');
  const head = dbl < 0 ? n.split(':') : n.slice(0, dbl) === '' ? [] : n.slice(0, dbl).split(':');
  const tail = dbl < 0 ? [] : n.slice(dbl + 2) === '' ? [] : n.slice(dbl + 2).split(':');
  const groups = new Array<number>(8).fill(0);
  head.forEach((g, i) => (groups[i] = parseInt(g, 16)));
  tail.forEach((g, i) => (groups[8 - tail.length + i] = parseInt(g, 16)));
  for (let k = 0; k < 4; k++) v6Words[k] = ((groups[2 * k]! << 16) | groups[2 * k + 1]!) >>> 0;
  return 6;
}

/**
 * A domain as sent on the wire must be 1..255 printable ASCII bytes without spaces (0x21..0x7e): a NUL or
 * control byte would be cut or misread by whatever resolves or logs it, so it is refused, not cleaned up.
 * Returns the name, or throws.
 */
export function readDomain(buf: Buffer, start: number, len: number): string {
  if (len === 0) throw new SocksParseError('domain', 'domain name of length 0', 0x01);
  for (let i = start; i < start + len; i++) {
    const c = buf[i]!;
    if (c < 0x21 || c > 0x7e) {
      throw new SocksParseError('domain', `domain name has byte 0x${c.toString(16).padStart(2, '0')} at offset ${i - start}`, 0x01);
    }
  }
  return buf.toString('latin1', start, start + len);
}

/**
 * Reads ATYP + address + port at `off`. Returns the address and the offset after it, or null when more bytes
 * are needed. Throws on an unknown ATYP or a bad domain as soon as the offending byte is visible.
 */
export function readAddress(buf: Buffer, off: number): { addr: SocksAddress; end: number } | null {
  if (buf.length <= off) return null;
  const atyp = buf[off]!;
  switch (atyp) {
    case ATYP_IPV4: {
      if (buf.length < off + 7) return null;
      const n = buf.readUInt32BE(off + 1);
      return { addr: { host: formatIpv4(n), port: buf.readUInt16BE(off + 5), ipFamily: 4 }, end: off + 7 };
    }
    case ATYP_IPV6: {
      if (buf.length < off + 19) return null;
      for (let k = 0; k < 4; k++) v6Words[k] = buf.readUInt32BE(off + 1 + 4 * k);
      // An IPv4-mapped IPv6 address is the IPv4 host: filters and logs see one spelling.
      const mapped = v6Words[0] === 0 && v6Words[1] === 0 && v6Words[2] === 0xffff;
      const host = mapped ? formatIpv4(v6Words[3]!) : formatIpv6(v6Words);
      return { addr: { host, port: buf.readUInt16BE(off + 17), ipFamily: mapped ? 4 : 6 }, end: off + 19 };
    }
    case ATYP_DOMAIN: {
      if (buf.length < off + 2) return null;
      const len = buf[off + 1]!;
      if (len === 0) throw new SocksParseError('domain', 'domain name of length 0', 0x01);
      // Check what has arrived already, so a NUL is refused before the rest of the name is waited for.
      const have = Math.min(len, buf.length - off - 2);
      if (have > 0) readDomain(buf, off + 2, have);
      if (buf.length < off + 4 + len) return null;
      const host = buf.toString('latin1', off + 2, off + 2 + len);
      // A domain that is really an IP literal is treated as that IP (curl --socks5-hostname 127.0.0.1 does this).
      const ip = normalizeIp(host);
      const port = buf.readUInt16BE(off + 2 + len);
      const addr: SocksAddress = ip === null
        ? { host: host.toLowerCase(), port, ipFamily: 0 }
        : { host: ip, port, ipFamily: ip.indexOf(':') < 0 ? 4 : 6 };
      return { addr, end: off + 4 + len };
    }
    default:
      throw new SocksParseError('address-type', `unknown address type 0x${atyp.toString(16)}`, 0x08);
  }
}

/** Bytes `writeAddress` needs for `host`. */
export function addressSize(host: string): number {
  const fam = parseIpWords(host);
  if (fam === 4) return 7;
  if (fam === 6) return 19;
  return 4 + Buffer.byteLength(host, 'latin1');
}

/** Writes ATYP + address + port at `off`; returns the offset after it. A domain longer than 255 bytes throws. */
export function writeAddress(out: Buffer, off: number, host: string, port: number): number {
  const fam = parseIpWords(host);
  if (fam === 4) {
    out[off] = ATYP_IPV4;
    out.writeUInt32BE(v6Words[0]!, off + 1);
    out.writeUInt16BE(port, off + 5);
    return off + 7;
  }
  if (fam === 6) {
    out[off] = ATYP_IPV6;
    for (let k = 0; k < 4; k++) out.writeUInt32BE(v6Words[k]!, off + 1 + 4 * k);
    out.writeUInt16BE(port, off + 17);
    return off + 19;
  }
  const len = Buffer.byteLength(host, 'latin1');
  if (len === 0 || len > 255) throw new SocksParseError('field', `domain name length ${len} is out of 1..255`, null);
  out[off] = ATYP_DOMAIN;
  out[off + 1] = len;
  out.write(host, off + 2, 'latin1');
  out.writeUInt16BE(port, off + 2 + len);
  return off + 4 + len;
}
