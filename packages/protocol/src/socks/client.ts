/**
 * Client side of SOCKS4/4a and SOCKS5 (+ RFC 1929), for escapers that chain through a SOCKS proxy. Encoders
 * build whole messages; readers are incremental like the server's (null = need more bytes) and strict about
 * what a server may answer.
 */
import { addressSize, readAddress, writeAddress, type SocksAddress } from './address.js';
import { SocksParseError } from './errors.js';
import { AUTH_NO_ACCEPTABLE, SOCKS4_GRANTED, SOCKS4_VERSION, SOCKS5_VERSION, USERPASS_VERSION } from './server.js';

/** Greeting: VER NMETHODS METHODS. */
export function encodeSocks5Greeting(methods: readonly number[]): Buffer {
  if (methods.length === 0 || methods.length > 255) throw new SocksParseError('methods', `cannot offer ${methods.length} methods`, null);
  return Buffer.from([SOCKS5_VERSION, methods.length, ...methods]);
}

/** Method selection from the server; X'FF' is returned as is (the caller fails with "no acceptable method"). */
export function readMethodSelection(buf: Buffer): { method: number; size: 2 } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== SOCKS5_VERSION) throw new SocksParseError('reply', `method selection version 0x${buf[0]!.toString(16)}`, null);
  if (buf.length < 2) return null;
  return { method: buf[1]!, size: 2 };
}

export { AUTH_NO_ACCEPTABLE };

const SOCKS5_REPLY_TEXT: readonly string[] = [
  'succeeded', 'general SOCKS server failure', 'connection not allowed by ruleset', 'network unreachable',
  'host unreachable', 'connection refused', 'TTL expired', 'command not supported', 'address type not supported',
];

/** RFC 1928 §6 wording of a REP code, for error messages about what a server answered. */
export function socks5ReplyText(reply: number): string {
  return SOCKS5_REPLY_TEXT[reply] ?? `reply 0x${reply.toString(16).padStart(2, '0')}`;
}

/** RFC 1929 request. Username 1..255 bytes, password 0..255 bytes (UTF-8). */
export function encodeUserPassAuth(username: string, password: string): Buffer {
  const u = Buffer.from(username, 'utf8');
  const p = Buffer.from(password, 'utf8');
  if (u.length === 0 || u.length > 255) throw new SocksParseError('field', `username length ${u.length} is out of 1..255`, null);
  if (p.length > 255) throw new SocksParseError('field', `password length ${p.length} is over 255`, null);
  const out = Buffer.allocUnsafe(3 + u.length + p.length);
  out[0] = USERPASS_VERSION;
  out[1] = u.length;
  u.copy(out, 2);
  out[2 + u.length] = p.length;
  p.copy(out, 3 + u.length);
  return out;
}

/** RFC 1929 reply: VER STATUS; `ok` when STATUS is 0. */
export function readUserPassStatus(buf: Buffer): { ok: boolean; size: 2 } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== USERPASS_VERSION) throw new SocksParseError('reply', `auth status version 0x${buf[0]!.toString(16)}`, null);
  if (buf.length < 2) return null;
  return { ok: buf[1] === 0, size: 2 };
}

/** Request: VER CMD RSV ATYP DST.ADDR DST.PORT; `host` is an IP literal or a domain (sent as ATYP 3). */
export function encodeSocks5Request(command: number, host: string, port: number): Buffer {
  const out = Buffer.allocUnsafe(3 + addressSize(host));
  out[0] = SOCKS5_VERSION;
  out[1] = command;
  out[2] = 0;
  writeAddress(out, 3, host, port);
  return out;
}

export interface Socks5Reply {
  /** REP: 0 = succeeded */
  reply: number;
  bound: SocksAddress;
  size: number;
}

/** Reply: VER REP RSV ATYP BND.ADDR BND.PORT. */
export function readSocks5Reply(buf: Buffer): Socks5Reply | null {
  if (buf.length === 0) return null;
  if (buf[0] !== SOCKS5_VERSION) throw new SocksParseError('reply', `reply version 0x${buf[0]!.toString(16)}`, null);
  if (buf.length >= 3 && buf[2] !== 0) throw new SocksParseError('reserved', 'reply reserved byte is not 0', null);
  const a = readAddress(buf, 3);
  if (!a) return null;
  return { reply: buf[1]!, bound: a.addr, size: a.end };
}

/**
 * SOCKS4 CONNECT (`host` an IPv4 literal) or SOCKS4a (`host` a domain: DSTIP 0.0.0.1 and the domain after the
 * user id).
 */
export function encodeSocks4Request(command: number, host: string, port: number, userId = ''): Buffer {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  const uid = Buffer.from(userId, 'latin1');
  const dom = m ? null : Buffer.from(host, 'latin1');
  if (uid.includes(0) || (dom && (dom.length === 0 || dom.includes(0)))) throw new SocksParseError('field', 'SOCKS4 fields must not contain NUL', null);
  const out = Buffer.alloc(9 + uid.length + (dom ? dom.length + 1 : 0));
  out[0] = SOCKS4_VERSION;
  out[1] = command;
  out.writeUInt16BE(port, 2);
  if (m) for (let i = 0; i < 4; i++) out[4 + i] = Number(m[i + 1]);
  else out[7] = 1;
  uid.copy(out, 8);
  if (dom) dom.copy(out, 9 + uid.length);
  return out;
}

/** SOCKS4 reply: VN=0 CD DSTPORT DSTIP; `granted` for CD X'5A'. */
export function readSocks4Reply(buf: Buffer): { granted: boolean; code: number; size: 8 } | null {
  if (buf.length === 0) return null;
  if (buf[0] !== 0) throw new SocksParseError('reply', `SOCKS4 reply version 0x${buf[0]!.toString(16)}`, null);
  if (buf.length < 8) return null;
  return { granted: buf[1] === SOCKS4_GRANTED, code: buf[1]!, size: 8 };
}
