/**
 * Server side of SOCKS4, SOCKS4a (openssh/socks4a.protocol) and SOCKS5 (RFC 1928, RFC 1929).
 *
 * Every reader is incremental and strict: it takes the bytes received so far, returns null while the message
 * is incomplete, returns the message and its size once complete, and throws a SocksParseError as soon as a
 * byte that makes the message invalid is visible (it never waits for the rest of a message it will refuse).
 */
import { ATYP_IPV4, readAddress, writeAddress, addressSize, type SocksAddress } from './address.js';
import { SocksParseError } from './errors.js';

export const SOCKS4_VERSION = 0x04;
export const SOCKS5_VERSION = 0x05;
export const AUTH_NONE = 0x00;
export const AUTH_USERPASS = 0x02;
export const AUTH_NO_ACCEPTABLE = 0xff;
export const USERPASS_VERSION = 0x01;

export const CMD_CONNECT = 0x01;
export const CMD_BIND = 0x02;
export const CMD_UDP_ASSOCIATE = 0x03;

/** SOCKS4 reply codes (CD of the 8-byte reply). */
export const SOCKS4_GRANTED = 0x5a;
export const SOCKS4_REJECTED = 0x5b;

/** A NUL-terminated SOCKS4 field (USERID, 4a DOMAIN) may be at most this long. */
const SOCKS4_FIELD_MAX = 255;

export interface Socks5Greeting {
  version: 5;
  methods: Uint8Array;
  size: number;
}

export interface Socks4Request {
  version: 4;
  command: number;
  /** target; for 4a the domain with ipFamily 0 */
  addr: SocksAddress;
  userId: string;
  /** true for a SOCKS4a request (DSTIP 0.0.0.x, domain follows) */
  is4a: boolean;
  size: number;
}

export interface Socks5Request {
  command: number;
  addr: SocksAddress;
  size: number;
}

export interface UserPassAuth {
  username: string;
  password: string;
  size: number;
}

/** The first byte picks the protocol; anything else is not SOCKS. */
export function peekVersion(buf: Buffer): 4 | 5 | null {
  if (buf.length === 0) return null;
  const v = buf[0];
  if (v === SOCKS4_VERSION || v === SOCKS5_VERSION) return v;
  throw new SocksParseError('version', `unknown SOCKS version 0x${v!.toString(16)}`, null);
}

/** SOCKS5 greeting: VER NMETHODS METHODS... NMETHODS 0 is refused (no method could ever be chosen). */
export function readSocks5Greeting(buf: Buffer): Socks5Greeting | null {
  if (buf.length < 2) {
    if (buf.length === 1 && buf[0] !== SOCKS5_VERSION) throw new SocksParseError('version', `not SOCKS5: 0x${buf[0]!.toString(16)}`, null);
    return null;
  }
  if (buf[0] !== SOCKS5_VERSION) throw new SocksParseError('version', `not SOCKS5: 0x${buf[0]!.toString(16)}`, null);
  const n = buf[1]!;
  if (n === 0) throw new SocksParseError('methods', 'greeting offers 0 methods', null);
  if (buf.length < 2 + n) return null;
  return { version: 5, methods: buf.subarray(2, 2 + n), size: 2 + n };
}

/**
 * Picks the method to answer a greeting with: user/password when the server requires it and the client offers
 * it, no-auth when the server does not and the client offers it, otherwise X'FF'.
 */
export function chooseMethod(methods: Uint8Array, requireUserPass: boolean): number {
  const want = requireUserPass ? AUTH_USERPASS : AUTH_NONE;
  return methods.includes(want) ? want : AUTH_NO_ACCEPTABLE;
}

/** Method selection message: VER METHOD. */
export function encodeMethodSelection(method: number): Buffer {
  return Buffer.from([SOCKS5_VERSION, method]);
}

function readNulField(buf: Buffer, start: number, what: string): { value: string; end: number } | null {
  const limit = Math.min(buf.length, start + SOCKS4_FIELD_MAX + 1);
  for (let i = start; i < limit; i++) {
    if (buf[i] === 0) return { value: buf.toString('latin1', start, i), end: i + 1 };
  }
  if (buf.length > start + SOCKS4_FIELD_MAX) throw new SocksParseError('field', `${what} longer than ${SOCKS4_FIELD_MAX} bytes`, null);
  return null;
}

/**
 * SOCKS4/4a request: VN=4 CD DSTPORT DSTIP USERID NUL [DOMAIN NUL]. DSTIP 0.0.0.x with x != 0 means 4a: the
 * domain follows the user id.
 */
export function readSocks4Request(buf: Buffer): Socks4Request | null {
  if (buf.length === 0) return null;
  if (buf[0] !== SOCKS4_VERSION) throw new SocksParseError('version', `not SOCKS4: 0x${buf[0]!.toString(16)}`, null);
  if (buf.length >= 2) {
    const cd = buf[1]!;
    if (cd !== CMD_CONNECT && cd !== CMD_BIND) throw new SocksParseError('command', `unknown SOCKS4 command 0x${cd.toString(16)}`, null);
  }
  if (buf.length < 9) return null;
  const port = buf.readUInt16BE(2);
  const ip = buf.readUInt32BE(4);
  const user = readNulField(buf, 8, 'SOCKS4 user id');
  if (!user) return null;
  const is4a = ip !== 0 && ip >>> 8 === 0;
  if (!is4a) {
    const host = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
    return { version: 4, command: buf[1]!, addr: { host, port, ipFamily: 4 }, userId: user.value, is4a: false, size: user.end };
  }
  const dom = readNulField(buf, user.end, 'SOCKS4a domain');
  if (!dom) {
    // refuse a bad byte in the part of the domain already received
    const partial = buf.subarray(user.end);
    checkDomainText(partial, partial.length);
    return null;
  }
  checkDomainText(buf.subarray(user.end), dom.end - 1 - user.end);
  return {
    version: 4, command: buf[1]!, addr: { host: dom.value.toLowerCase(), port, ipFamily: 0 }, userId: user.value, is4a: true, size: dom.end,
  };
}

function checkDomainText(b: Buffer, len: number): void {
  if (len === 0 && b.length > 0) throw new SocksParseError('domain', 'SOCKS4a domain of length 0', null);
  for (let i = 0; i < len; i++) {
    const c = b[i]!;
    if (c < 0x21 || c > 0x7e) throw new SocksParseError('domain', `SOCKS4a domain has byte 0x${c.toString(16)}`, null);
  }
}

/** SOCKS4 reply: VN=0 CD DSTPORT DSTIP (8 bytes). */
export function encodeSocks4Reply(granted: boolean, port = 0, ipv4 = 0): Buffer {
  const b = Buffer.alloc(8);
  b[1] = granted ? SOCKS4_GRANTED : SOCKS4_REJECTED;
  b.writeUInt16BE(port, 2);
  b.writeUInt32BE(ipv4 >>> 0, 4);
  return b;
}

/**
 * SOCKS5 request: VER CMD RSV ATYP DST.ADDR DST.PORT. An unknown CMD is refused with X'07', an unknown ATYP
 * with X'08', a bad domain or non-zero RSV with X'01'.
 */
export function readSocks5Request(buf: Buffer): Socks5Request | null {
  if (buf.length === 0) return null;
  if (buf[0] !== SOCKS5_VERSION) throw new SocksParseError('version', `request version 0x${buf[0]!.toString(16)}`, 0x01);
  if (buf.length >= 2) {
    const cmd = buf[1]!;
    if (cmd !== CMD_CONNECT && cmd !== CMD_BIND && cmd !== CMD_UDP_ASSOCIATE) {
      throw new SocksParseError('command', `unknown command 0x${cmd.toString(16)}`, 0x07);
    }
  }
  if (buf.length >= 3 && buf[2] !== 0) throw new SocksParseError('reserved', 'reserved byte is not 0', 0x01);
  const a = readAddress(buf, 3);
  if (!a) return null;
  return { command: buf[1]!, addr: a.addr, size: a.end };
}

/** SOCKS5 reply: VER REP RSV ATYP BND.ADDR BND.PORT; without a bound address, 0.0.0.0:0. */
export function encodeSocks5Reply(rep: number, bindHost?: string, bindPort = 0): Buffer {
  if (bindHost === undefined) {
    const b = Buffer.alloc(10);
    b[0] = SOCKS5_VERSION;
    b[1] = rep;
    b[3] = ATYP_IPV4;
    return b;
  }
  const b = Buffer.alloc(3 + addressSize(bindHost));
  b[0] = SOCKS5_VERSION;
  b[1] = rep;
  writeAddress(b, 3, bindHost, bindPort);
  return b;
}

/** RFC 1929 request: VER=1 ULEN UNAME PLEN PASSWD. ULEN 0 is refused; PLEN 0 (an empty password) is allowed. */
export function readUserPassAuth(buf: Buffer): UserPassAuth | null {
  if (buf.length === 0) return null;
  if (buf[0] !== USERPASS_VERSION) throw new SocksParseError('version', `username/password version 0x${buf[0]!.toString(16)}`, null);
  if (buf.length < 2) return null;
  const ulen = buf[1]!;
  if (ulen === 0) throw new SocksParseError('field', 'empty username', null);
  if (buf.length < 3 + ulen) return null;
  const plen = buf[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (buf.length < end) return null;
  return { username: buf.toString('utf8', 2, 2 + ulen), password: buf.toString('utf8', 3 + ulen, end), size: end };
}

/** RFC 1929 reply: VER=1 STATUS (0 = success). */
export function encodeUserPassStatus(ok: boolean): Buffer {
  return Buffer.from([USERPASS_VERSION, ok ? 0x00 : 0x01]);
}
