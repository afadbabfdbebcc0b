import { isIPv6 } from 'node:net';
import { HEX } from './chars.js';
import { HttpParseError } from './errors.js';

export type HostKind = 'domain' | 'ipv4' | 'ipv6';

export interface HostPort {
  /** Lowercase domain name, dotted-quad IPv4, or IPv6 without brackets (ready for net.connect). */
  host: string;
  hostKind: HostKind;
  port: number;
}

export interface AbsoluteTarget extends HostPort {
  scheme: 'http' | 'https' | 'ftp';
  /** path-abempty plus query, never empty ('/' when the target has no path). */
  path: string;
  /** Raw (still percent-encoded) userinfo, when the target carries one. */
  userinfo?: string;
}

const DEFAULT_PORT = { http: 80, https: 443, ftp: 21 } as const;

function fail(detail: string, status = 400): never {
  throw new HttpParseError(status, detail);
}

/**
 * Splits an absolute-form request-target (`http://user@host:port/path?query`) without `new URL`, which is both
 * slower and more forgiving (it "fixes" backslashes, whitespace and numeric hosts that the upstream may read
 * differently). Throws HttpParseError 400 on anything malformed and 501 on a scheme the proxy does not speak.
 */
export function parseAbsoluteTarget(target: string): AbsoluteTarget {
  const colon = target.indexOf(':');
  if (colon <= 0 || !target.startsWith('//', colon + 1)) fail('invalid absolute-form target');
  const scheme = schemeOf(target, colon);
  const authStart = colon + 3;
  let authEnd = authStart;
  const n = target.length;
  for (; authEnd < n; authEnd++) {
    const c = target.charCodeAt(authEnd);
    if (c === 0x2f || c === 0x3f) break; // '/' or '?'
    if (c === 0x23) fail('fragment in request-target');
  }

  let hostStart = authStart;
  let userinfo: string | undefined;
  const at = target.indexOf('@', authStart);
  if (at !== -1 && at < authEnd) {
    checkUserinfo(target, authStart, at);
    userinfo = target.slice(authStart, at);
    hostStart = at + 1;
  }
  const hp = parseHostPort(target, hostStart, authEnd, DEFAULT_PORT[scheme], true);

  let path: string;
  for (let i = authEnd; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c === 0x23) fail('fragment in request-target');
    if (c <= 0x20 || c >= 0x7f) fail('invalid character in path');
  }
  if (authEnd === n) path = '/';
  else if (target.charCodeAt(authEnd) === 0x3f) path = '/' + target.slice(authEnd);
  else path = target.slice(authEnd);

  const out: AbsoluteTarget = { scheme, host: hp.host, hostKind: hp.hostKind, port: hp.port, path };
  if (userinfo !== undefined) out.userinfo = userinfo;
  return out;
}

/**
 * The authority-form target of CONNECT: exactly `host:port` (RFC 9112 §3.2.3), the host a domain name, a
 * dotted-quad IPv4 address or a bracketed IPv6 literal, the port 1..65535. No userinfo, no path.
 */
export function parseAuthorityForm(target: string): HostPort {
  return parseHostPort(target, 0, target.length, 0, false);
}

/** A Host field value: `host[:port]`, with `defaultPort` when the port is left out. */
export function parseHostHeader(value: string, defaultPort: number): HostPort {
  return parseHostPort(value, 0, value.length, defaultPort, true);
}

function schemeOf(target: string, colon: number): AbsoluteTarget['scheme'] {
  for (let i = 0; i < colon; i++) {
    const c = target.charCodeAt(i);
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alpha && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) {
      fail('invalid scheme');
    }
  }
  // Schemes are case-insensitive (RFC 3986 §3.1).
  switch (colon) {
    case 3:
      if (target.slice(0, 3).toLowerCase() === 'ftp') return 'ftp';
      break;
    case 4:
      if (target.slice(0, 4).toLowerCase() === 'http') return 'http';
      break;
    case 5:
      if (target.slice(0, 5).toLowerCase() === 'https') return 'https';
      break;
  }
  return fail('unsupported scheme', 501);
}

// userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
const USERINFO = new Uint8Array(128);
for (const ch of "-._~!$&'()*+,;=:") USERINFO[ch.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) USERINFO[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) USERINFO[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) USERINFO[c] = 1;

function checkUserinfo(s: string, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= end || HEX[s.charCodeAt(i + 1)] === 255 || HEX[s.charCodeAt(i + 2)] === 255) {
        fail('invalid userinfo');
      }
      i += 2;
    } else if (c >= 128 || USERINFO[c] !== 1) {
      fail('invalid userinfo');
    }
  }
}

function parseHostPort(s: string, start: number, end: number, defaultPort: number, portOptional: boolean): HostPort {
  if (start >= end) fail('empty host');
  let hostEnd: number;
  let portStart: number;
  let host: string;
  let hostKind: HostKind;
  if (s.charCodeAt(start) === 0x5b) {
    const close = s.indexOf(']', start);
    if (close === -1 || close >= end) fail('invalid IPv6 literal');
    // No zone identifiers or IPvFuture: they cannot name a remote host.
    const inner = s.slice(start + 1, close);
    if (inner.indexOf('%') !== -1 || !isIPv6(inner)) fail('invalid IPv6 literal');
    host = inner.toLowerCase();
    hostKind = 'ipv6';
    hostEnd = close + 1;
    if (hostEnd === end) portStart = -1;
    else if (s.charCodeAt(hostEnd) === 0x3a) portStart = hostEnd + 1;
    else return fail('invalid host');
  } else {
    const colon = s.lastIndexOf(':', end - 1);
    hostEnd = colon >= start ? colon : end;
    portStart = colon >= start ? colon + 1 : -1;
    hostKind = checkHostName(s, start, hostEnd);
    host = s.slice(start, hostEnd).toLowerCase();
  }

  let port = defaultPort;
  if (portStart === -1 || portStart === end) {
    // RFC 3986 allows an empty port (meaning the default) in a URI, but CONNECT needs an explicit one.
    if (!portOptional) fail('missing port');
  } else {
    port = parsePort(s, portStart, end);
  }
  return { host, hostKind, port };
}

function parsePort(s: string, start: number, end: number): number {
  if (end - start > 5 || s.charCodeAt(start) === 0x30) fail('invalid port');
  let port = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) fail('invalid port');
    port = port * 10 + d;
  }
  if (port > 65535) fail('invalid port');
  return port;
}

/**
 * A host name is letters, digits, '-', '_' and dots, with labels of 1..63 bytes and an optional final dot.
 * A name whose last label starts with a digit must be a strict dotted-quad IPv4 address: no shorthand
 * ("127.1"), no hex or octal ("0x7f.1", "010.0.0.1"), which resolvers and URL parsers read differently.
 */
function checkHostName(s: string, start: number, end: number): HostKind {
  if (start >= end) fail('empty host');
  let stop = end;
  if (s.charCodeAt(stop - 1) === 0x2e) stop--; // FQDN trailing dot
  if (stop - start > 253 || stop === start) fail('invalid host');
  let labelStart = start;
  for (let i = start; i <= stop; i++) {
    const c = i < stop ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const l = i - labelStart;
      if (l === 0 || l > 63) fail('invalid host');
      if (i === stop) {
        const first = s.charCodeAt(labelStart);
        if (first >= 0x30 && first <= 0x39) {
          if (stop !== end || !isDottedQuad(s, start, stop)) fail('invalid host');
          return 'ipv4';
        }
      }
      labelStart = i + 1;
    } else if (
      !((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f)
    ) {
      fail('invalid host');
    }
  }
  return 'domain';
}

function isDottedQuad(s: string, start: number, end: number): boolean {
  let parts = 0;
  let i = start;
  while (i <= end) {
    let j = i;
    let v = 0;
    while (j < end) {
      const d = s.charCodeAt(j) - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      j++;
    }
    const len = j - i;
    if (len === 0 || len > 3 || v > 255 || (len > 1 && s.charCodeAt(i) === 0x30)) return false;
    parts++;
    if (j === end) return parts === 4;
    if (s.charCodeAt(j) !== 0x2e || parts === 4) return false;
    i = j + 1;
  }
  return false;
}
