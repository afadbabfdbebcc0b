/**
 * IP literals and networks, parsed by hand so the hot path (ACL checks on every connection) does not
 * allocate: an address is read into a shared scratch buffer of four uint32 words, most significant first.
 * An IPv4 address uses word 0 only.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as the IPv4 address they carry, both in
 * rules and in lookups: that is how g3proxy canonicalises accepted sockets, and doing it for egress too
 * stops `::ffff:127.0.0.1` from slipping past a loopback ban.
 */
import { ValueError, describe } from './errors.js';

export type IpFamily = 4 | 6;

/**
 * Words of the last address parsed by {@link parseIpInto}. Shared and overwritten by the next parse:
 * read it immediately, synchronously.
 */
export const IP_SCRATCH = new Uint32Array(4);

const groups = new Uint16Array(8);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Strict dotted-quad IPv4 in `s[start, end)` → uint32, or -1. Leading zeros are refused (`010.0.0.1` is
 * octal to some parsers and decimal to others, so neither g3proxy nor we guess).
 */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  // one pass, no allocation: accumulate octets, count dots
  let acc = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c >= 0 && c <= 9) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + c;
      if (octet > 255) return -1;
      digits++;
    } else if (c === -2) {
      if (digits === 0 || dots === 3) return -1;
      acc = (acc << 8) | octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return ((acc << 8) | octet) >>> 0;
}

/** IPv6 text in `s[start, end)` into `out` (4 words). Accepts `::` compression and a trailing dotted IPv4. */
function parseIpv6Into(s: string, start: number, end: number, out: Uint32Array): boolean {
  if (end - start < 2) return false;
  let count = 0;
  let gap = -1;
  let i = start;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    if (count === 8) return false;
    let value = 0;
    let digits = 0;
    let j = i;
    while (j < end) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // trailing dotted IPv4 takes the last two groups
      if (count > 6) return false;
      const v4 = parseIpv4(s, i, end);
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups[count++] = value;
    if (j === end) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = count;
      j++;
    } else if (j === end) {
      return false;
    }
    i = j;
  }
  if (gap < 0) {
    if (count !== 8) return false;
  } else {
    if (count > 7) return false;
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w]! << 16) | groups[2 * w + 1]!) >>> 0;
  return true;
}

function isMappedV4(w: Uint32Array | readonly number[]): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

/**
 * Parses an IP literal into {@link IP_SCRATCH} and returns its family, or 0 if `s` is not an IP literal.
 * IPv4-mapped IPv6 comes back as family 4. A `[v6]` bracketed form is accepted. Zone ids (`%eth0`) are not.
 */
export function parseIpInto(s: string): 0 | 4 | 6 {
  let start = 0;
  let end = s.length;
  if (end === 0) return 0;
  if (s.charCodeAt(0) === 91) {
    if (s.charCodeAt(end - 1) !== 93) return 0;
    start = 1;
    end -= 1;
    return parseIpv6Into(s, start, end, IP_SCRATCH) ? canonicalFamily() : 0;
  }
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s, start, end);
    if (v4 < 0) return 0;
    IP_SCRATCH[0] = v4;
    IP_SCRATCH[1] = IP_SCRATCH[2] = IP_SCRATCH[3] = 0;
    return 4;
  }
  return parseIpv6Into(s, start, end, IP_SCRATCH) ? canonicalFamily() : 0;
}

function canonicalFamily(): 4 | 6 {
  if (isMappedV4(IP_SCRATCH)) {
    IP_SCRATCH[0] = IP_SCRATCH[3]!;
    IP_SCRATCH[1] = IP_SCRATCH[2] = IP_SCRATCH[3] = 0;
    return 4;
  }
  return 6;
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups written as `::`. */
export function formatIpv6(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let k = 0; k < 4; k++) g.push(w[k]! >>> 16, w[k]! & 0xffff);
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  const hex = (a: number, b: number) => g.slice(a, b).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function formatScratch(family: 4 | 6): string {
  return family === 4 ? formatIpv4(IP_SCRATCH[0]!) : formatIpv6(IP_SCRATCH);
}

/**
 * Canonical text for an IP literal (`010.1.1.1` is refused, `2001:DB8:0::1` → `2001:db8::1`,
 * `::ffff:10.0.0.1` → `10.0.0.1`), or null if `s` is not an IP literal.
 */
export function normalizeIp(s: string): string | null {
  const family = parseIpInto(s);
  return family === 0 ? null : formatScratch(family);
}

/** The network-order bytes of an IP literal (4, or 16; IPv4-mapped IPv6 gives 4), or null if it is not one. */
export function ipBytes(s: string): Buffer | null {
  const family = parseIpInto(s);
  if (family === 0) return null;
  const b = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = 0; i < b.length / 4; i++) b.writeUInt32BE(IP_SCRATCH[i]!, i * 4);
  return b;
}

/** 4 or 6 for an IP literal (IPv4-mapped IPv6 counts as 4), 0 otherwise. */
export function ipFamily(s: string): 0 | 4 | 6 {
  return parseIpInto(s);
}

/** An IP address value: a string holding an IP literal; returns its canonical text. */
export function parseIpAddr(v: unknown): string {
  if (typeof v !== 'string') throw new ValueError(`IP address must be a string, got ${describe(v)}`);
  const ip = normalizeIp(v.trim());
  if (ip === null) throw new ValueError(`'${v}' is not a valid IP address`);
  return ip;
}

/** An IP network: `address/prefix`, the address being the network's first address. */
export interface IpNetwork {
  readonly family: IpFamily;
  /** canonical text of the network address */
  readonly address: string;
  readonly prefix: number;
  /** address words, most significant first (IPv4: one word) */
  readonly words: readonly number[];
  /** `address/prefix` */
  readonly text: string;
}

function maskWords(words: number[], prefix: number): void {
  for (let k = 0; k < words.length; k++) {
    const bitsHere = Math.max(0, Math.min(32, prefix - 32 * k));
    const mask = bitsHere === 0 ? 0 : bitsHere === 32 ? 0xffff_ffff : (0xffff_ffff << (32 - bitsHere)) >>> 0;
    words[k] = (words[k]! & mask) >>> 0;
  }
}

export function makeIpNetwork(family: IpFamily, words: readonly number[], prefix: number): IpNetwork {
  const w = family === 4 ? [words[0]! >>> 0] : words.slice(0, 4).map((x) => x >>> 0);
  maskWords(w, prefix);
  const address = family === 4 ? formatIpv4(w[0]!) : formatIpv6(w);
  return Object.freeze({ family, address, prefix, words: Object.freeze(w), text: `${address}/${prefix}` });
}

/**
 * An IP network: `a.b.c.d/len`, `v6/len`, or a bare address (a /32 or /128). As in g3proxy, set host bits
 * (`10.0.0.1/8`) are an error rather than silently truncated, since they usually mean a typo.
 * An IPv4-mapped network (`::ffff:10.0.0.0/104`) becomes the IPv4 network it covers.
 */
export function parseIpNetwork(v: unknown): IpNetwork {
  if (typeof v !== 'string') throw new ValueError(`IP network must be a string like '10.0.0.0/8', got ${describe(v)}`);
  const s = v.trim();
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const rawFamily = rawParse(addrText);
  if (rawFamily === 0) throw new ValueError(addrText === s ? `'${v}' is not a valid IP address or network` : `'${addrText}' in '${v}' is not a valid IP address`);
  const words = Array.from(IP_SCRATCH);
  const maxPrefix = rawFamily === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const lenText = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(lenText)) throw new ValueError(`invalid prefix length '${lenText}' in '${v}'`);
    prefix = Number(lenText);
    if (prefix > maxPrefix) throw new ValueError(`prefix length ${prefix} in '${v}' is too long (max ${maxPrefix} for IPv${rawFamily})`);
  }
  let family: IpFamily = rawFamily;
  if (rawFamily === 6 && isMappedV4(words) && prefix >= 96) {
    family = 4;
    words[0] = words[3]!;
    prefix -= 96;
  }
  const net = makeIpNetwork(family, words, prefix);
  const given = family === 4 ? [words[0]!] : words;
  if (given.some((x, k) => x >>> 0 !== net.words[k])) {
    throw new ValueError(`'${v}' has host bits set (did you mean ${net.text}?)`);
  }
  return net;
}

/** Parses without mapping IPv4-mapped IPv6 to IPv4, so network prefixes stay in IPv6 terms. */
function rawParse(s: string): 0 | 4 | 6 {
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s);
    if (v4 < 0) return 0;
    IP_SCRATCH[0] = v4;
    IP_SCRATCH[1] = IP_SCRATCH[2] = IP_SCRATCH[3] = 0;
    return 4;
  }
  return parseIpv6Into(s, 0, s.length, IP_SCRATCH) ? 6 : 0;
}
