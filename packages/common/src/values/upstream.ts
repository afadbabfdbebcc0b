/**
 * Upstream addresses (`host[:port]`), weighted upstreams and selective pick policies.
 */
import { ValueError, describe } from './errors.js';
import { hostFromText } from './host.js';
import { normalizeIp } from './ip.js';
import { asF64, forEachKey, isMap, own } from './primitives.js';

export interface UpstreamAddr {
  /** canonical IP text or lowercase ASCII domain (IPv6 without brackets) */
  readonly host: string;
  /** 1..65535, or 0 when no port was written and the field has no default */
  readonly port: number;
  /** 4 or 6 for IP hosts (IPv4-mapped IPv6 counts as 4), 0 for domains */
  readonly ipFamily: 0 | 4 | 6;
}

/** `host:port` text, brackets around IPv6; the host alone when port is 0. */
export function formatUpstreamAddr(a: UpstreamAddr): string {
  const host = a.ipFamily === 6 ? `[${a.host}]` : a.host;
  return a.port === 0 ? host : `${host}:${a.port}`;
}

function portFromText(text: string, whole: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new ValueError(`invalid port '${text}' in '${whole}'`);
  const port = Number(text);
  if (port === 0 || port > 65535) throw new ValueError(`port ${port} in '${whole}' is out of range (1..65535)`);
  return port;
}

/**
 * An upstream address: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 literal. Hosts are
 * lowercased (domains also go through IDNA). Without a written port the result gets `defaultPort`;
 * with `defaultPort` 0 it keeps port 0 and the caller decides whether a port was required
 * (see {@link parseUpstreamAddrWithPort}). An explicit `:0` is always an error.
 */
export function parseUpstreamAddr(v: unknown, defaultPort: number): UpstreamAddr {
  if (typeof v !== 'string') throw new ValueError(`upstream address must be a string like 'host:port', got ${describe(v)}`);
  const s = v.trim();
  if (s === '') throw new ValueError('upstream address must not be empty');
  let hostText: string;
  let port = 0;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new ValueError(`'${v}' has '[' without a closing ']'`);
    hostText = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new ValueError(`unexpected '${rest}' after ']' in '${v}'`);
      port = portFromText(rest.slice(1), v);
    }
    if (normalizeIp(hostText) === null || !hostText.includes(':')) {
      throw new ValueError(`'${hostText}' inside brackets in '${v}' is not an IPv6 address`);
    }
  } else {
    const first = s.indexOf(':');
    if (first >= 0 && s.indexOf(':', first + 1) >= 0) {
      // several colons without brackets: only a bare IPv6 address, which cannot carry a port
      if (normalizeIp(s) === null) {
        throw new ValueError(`'${v}' is not a valid IPv6 address (write an IPv6 address with a port as '[addr]:port')`);
      }
      hostText = s;
    } else if (first >= 0) {
      hostText = s.slice(0, first);
      port = portFromText(s.slice(first + 1), v);
    } else {
      hostText = s;
    }
  }
  const host = hostFromText(hostText, v);
  if (port === 0) port = defaultPort;
  return Object.freeze({ host: host.host, port, ipFamily: host.ipFamily });
}

/** An upstream address whose port must be known (written or defaulted). */
export function parseUpstreamAddrWithPort(v: unknown, defaultPort = 0): UpstreamAddr {
  const a = parseUpstreamAddr(v, defaultPort);
  if (a.port === 0) throw new ValueError(`upstream address '${String(v)}' needs a port ('host:port')`);
  return a;
}

export interface WeightedUpstream {
  readonly addr: UpstreamAddr;
  /** selection weight, default 1 */
  readonly weight: number;
}

/** A weighted upstream: an address string, or `{addr|address, weight}` (weight a float, default 1). */
export function parseWeightedUpstream(v: unknown, defaultPort: number): WeightedUpstream {
  if (typeof v === 'string') return Object.freeze({ addr: parseUpstreamAddr(v, defaultPort), weight: 1 });
  if (!isMap(v)) throw new ValueError(`weighted upstream must be a string or a map {addr, weight}, got ${describe(v)}`);
  let addr: UpstreamAddr | undefined;
  let weight = 1;
  const setAddr = (x: unknown) => (addr = parseUpstreamAddr(x, defaultPort));
  forEachKey(v, 'weighted upstream', {
    addr: setAddr,
    address: setAddr,
    weight: (x) => {
      weight = asF64(x);
      if (weight < 0) throw new ValueError(`weight must not be negative, got ${weight}`);
    },
  });
  if (!addr) throw new ValueError('weighted upstream map needs an addr');
  return Object.freeze({ addr, weight });
}

export type PickPolicy = 'random' | 'serial' | 'round_robin' | 'ketama' | 'rendezvous' | 'jump_hash';

const PICK_POLICIES: Readonly<Record<string, PickPolicy>> = {
  random: 'random',
  serial: 'serial',
  sequence: 'serial',
  round_robin: 'round_robin',
  roundrobin: 'round_robin',
  rr: 'round_robin',
  ketama: 'ketama',
  rendezvous: 'rendezvous',
  jump_hash: 'jump_hash',
  jumphash: 'jump_hash',
  jump: 'jump_hash',
};

/**
 * A selective pick policy; `dflt` when the value is absent (undefined). Case-insensitive, `-` read as `_`:
 * random | serial (sequence) | round_robin (rr, roundrobin) | ketama | rendezvous | jump_hash (jump, jumphash).
 */
export function parsePickPolicy(v: unknown, dflt: PickPolicy = 'random'): PickPolicy {
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new ValueError(`pick policy must be a string, got ${describe(v)}`);
  const policy = own(PICK_POLICIES, v.trim().toLowerCase().replace(/-/g, '_'));
  if (!policy) {
    throw new ValueError(`unknown pick policy '${v}' (use random, serial, round_robin, ketama, rendezvous or jump_hash)`);
  }
  return policy;
}
