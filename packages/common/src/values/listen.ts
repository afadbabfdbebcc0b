/**
 * Listen values (tcp and udp `listen:`) and "env sockaddr" targets (statsd, syslog, fluentd, query agents),
 * after lib/g3-yaml/src/value/net/{tcp,udp,base}.rs.
 */
import { ValueError, describe } from './errors.js';
import { asBool, asF64, asU16, asU32, asUsize, forEachKey, isMap, normalizeKey, type Mutable } from './primitives.js';
import { parseSocketBuffer, parseTcpKeepalive, parseUdpMiscOpts, type SocketBuffer, type TcpKeepalive, type UdpMiscOpts } from './socket.js';
import { parseUpstreamAddr } from './upstream.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvSockaddr {
  /** an IP literal, or a domain when resolveAtLoad is set */
  readonly host: string;
  readonly port: number;
  /** 4 or 6 for IPs, 0 for a domain still to resolve */
  readonly ipFamily: 0 | 4 | 6;
  /**
   * `@host:port` with a domain: g3proxy resolves it once while loading the config (and refuses a name that
   * resolves to several addresses). Parsing stays synchronous, so the loader does that lookup.
   */
  readonly resolveAtLoad: boolean;
}

export interface EnvSockaddrOptions {
  /** port to use when the text has none (g3proxy always wants one; sluice lets statsd/syslog default it) */
  readonly defaultPort?: number;
  readonly env?: Env;
}

function ipSockaddr(text: string, defaultPort: number, what: string): EnvSockaddr {
  const a = parseUpstreamAddr(text, defaultPort);
  if (a.ipFamily === 0) throw new ValueError(`${what} '${text}' must be an IP address and port (use '@${text}' to resolve a name once at load)`);
  if (a.port === 0) throw new ValueError(`${what} '${text}' needs a port`);
  return Object.freeze({ host: a.host, port: a.port, ipFamily: a.ipFamily, resolveAtLoad: false });
}

/**
 * A socket address that may come from the environment: `ip:port` / `[v6]:port`, `$NAME` (the variable's
 * value read as `ip:port`), or `@host:port` (a name resolved once at load).
 */
export function parseEnvSockaddr(v: unknown, opts: EnvSockaddrOptions = {}): EnvSockaddr {
  const defaultPort = opts.defaultPort ?? 0;
  if (typeof v !== 'string') throw new ValueError(`socket address must be a string like '127.0.0.1:8125', got ${describe(v)}`);
  const s = v.trim();
  if (s.startsWith('$')) {
    const name = s.slice(1);
    const value = (opts.env ?? process.env)[name];
    if (value === undefined || value.trim() === '') throw new ValueError(`environment variable ${name} is not set`);
    return ipSockaddr(value.trim(), defaultPort, `address from environment variable ${name}`);
  }
  if (s.startsWith('@')) {
    const a = parseUpstreamAddr(s.slice(1), defaultPort);
    if (a.port === 0) throw new ValueError(`socket address '${v}' needs a port`);
    return Object.freeze({ host: a.host, port: a.port, ipFamily: a.ipFamily, resolveAtLoad: a.ipFamily === 0 });
  }
  return ipSockaddr(s, defaultPort, 'socket address');
}

/** `scale` of a listen value: instances relative to the CPU count. */
export type ListenScale =
  | { readonly kind: 'factor'; readonly factor: number }
  | { readonly kind: 'fraction'; readonly numerator: number; readonly denominator: number };

function parseScale(v: unknown): ListenScale {
  if (typeof v === 'string') {
    const s = v.trim();
    if (s.endsWith('%')) {
      const pct = asF64(s.slice(0, -1));
      if (pct < 0) throw new ValueError(`scale '${v}' must not be negative`);
      return Object.freeze({ kind: 'factor', factor: pct / 100 });
    }
    const slash = s.indexOf('/');
    if (slash >= 0) {
      const numerator = asUsize(s.slice(0, slash).trim());
      const denominator = asUsize(s.slice(slash + 1).trim());
      if (denominator === 0) throw new ValueError(`scale '${v}' divides by zero`);
      return Object.freeze({ kind: 'fraction', numerator, denominator });
    }
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new ValueError(`scale must be a number, 'n/d' or 'n%', got ${describe(v)}`);
  const factor = asF64(v);
  if (factor < 0) throw new ValueError(`scale ${factor} must not be negative`);
  return Object.freeze({ kind: 'factor', factor });
}

/** Interface name (≤ 15 bytes, as IFNAMSIZ allows) or index. */
function parseInterface(v: unknown): string | number {
  if (typeof v === 'number') return asU32(v);
  if (typeof v !== 'string') throw new ValueError(`interface must be a name or an index, got ${describe(v)}`);
  if (v === '' || Buffer.byteLength(v) > 15 || /[\s/]/.test(v)) {
    throw new ValueError(`'${v}' is not a valid interface name (1..15 characters, no spaces or '/')`);
  }
  return v;
}

interface ListenBase {
  readonly host: string;
  readonly port: number;
  readonly ipFamily: 4 | 6;
  readonly ipv6Only: boolean;
  /** listening sockets to open (SO_REUSEPORT), at least 1; see {@link listenInstanceCount} for scale */
  readonly instance: number;
  readonly scale?: ListenScale;
  readonly interface?: string | number;
}

export interface ListenSpec extends ListenBase {
  /** default 4096; values below 8 fall back to the default, as in g3proxy */
  readonly backlog: number;
  readonly netfilterMark?: number;
  readonly maxSegmentSize?: number;
  readonly keepalive?: TcpKeepalive;
  readonly followCpuAffinity: boolean;
}

export interface UdpListenSpec extends ListenBase {
  readonly socketBuffer?: SocketBuffer;
  readonly socketMiscOpts?: UdpMiscOpts;
}

/** Number of sockets to open: the larger of `instance` and what `scale` gives for `cpus`. */
export function listenInstanceCount(spec: Pick<ListenBase, 'instance' | 'scale'>, cpus: number): number {
  let scaled = 0;
  if (spec.scale?.kind === 'factor') scaled = Math.round(cpus * spec.scale.factor);
  else if (spec.scale?.kind === 'fraction') scaled = Math.floor((cpus * spec.scale.numerator) / spec.scale.denominator);
  return Math.max(spec.instance, scaled);
}

function listenAddress(v: unknown, env: Env): { host: string; port: number; ipFamily: 4 | 6 } {
  if (typeof v === 'number') return { host: '::', port: asU16(v), ipFamily: 6 };
  if (typeof v === 'string') {
    const s = v.trim();
    // a lone port in an environment variable reads as it would in YAML: a port on [::]
    if (s.startsWith('$')) {
      const value = env[s.slice(1)]?.trim();
      if (value !== undefined && /^[0-9]+$/.test(value)) return { host: '::', port: asU16(value), ipFamily: 6 };
    }
    // sluice addition: port 0 lets the kernel choose (tests, ephemeral listeners); `sluice-ctl server NAME
    // listeners` tells which port it got.
    const ephemeral = /:0$/.test(s) && !s.startsWith('$');
    const a = parseEnvSockaddr(ephemeral ? `${s.slice(0, -2)}:1` : s, { env });
    if (a.ipFamily === 0) throw new ValueError(`listen address '${v}' must be an IP address, not a name`);
    return { host: a.host, port: ephemeral ? 0 : a.port, ipFamily: a.ipFamily };
  }
  throw new ValueError(`listen address must be a port number or 'ip:port', got ${describe(v)}`);
}

function baseHandlers(out: Mutable<ListenBase>, env: Env): Record<string, (x: unknown) => void> {
  const setAddr = (x: unknown) => Object.assign(out, listenAddress(x, env));
  const setV6Only = (x: unknown) => (out.ipv6Only = asBool(x));
  const setInstance = (x: unknown) => (out.instance = Math.max(1, asUsize(x)));
  return {
    address: setAddr,
    addr: setAddr,
    interface: (x) => (out.interface = parseInterface(x)),
    ipv6_only: setV6Only,
    ipv6only: setV6Only,
    instance: setInstance,
    instance_count: setInstance,
    scale: (x) => (out.scale = parseScale(x)),
  };
}

function requireAddress(map: Record<string, unknown>, what: string): void {
  if (!Object.keys(map).some((k) => ['address', 'addr'].includes(normalizeKey(k)))) throw new ValueError(`${what} map needs an address`);
}

function checkPort(out: { port: number }): void {
  // port 0 is allowed: the kernel picks one (see listenAddress)
  if (!Number.isInteger(out.port) || out.port < 0) throw new ValueError('no listen port is set');
}

/**
 * A TCP listen value: an integer (port on `[::]`), `ip:port` or `$ENV` text, or a map with `address|addr`
 * (required), `interface`, `backlog` (4096; < 8 means default), `ipv6_only` (false), `instance` (1),
 * `scale`, `netfilter_mark`, `keepalive`, `max_segment_size|mss`, `follow_cpu_affinity`.
 */
export function parseListen(v: unknown, env: Env = process.env): ListenSpec {
  const out: Mutable<ListenSpec> = {
    host: '::',
    port: 0,
    ipFamily: 6,
    backlog: 4096,
    ipv6Only: false,
    instance: 1,
    followCpuAffinity: false,
  };
  if (isMap(v)) {
    requireAddress(v, 'listen');
    const mark = (x: unknown) => (out.netfilterMark = asU32(x));
    const mss = (x: unknown) => (out.maxSegmentSize = asU16(x));
    forEachKey(v, 'listen', {
      ...baseHandlers(out, env),
      backlog: (x) => {
        const n = asU32(x);
        if (n >= 8) out.backlog = n;
      },
      netfilter_mark: mark,
      fwmark: mark,
      mark,
      max_segment_size: mss,
      mss,
      keepalive: (x) => (out.keepalive = parseTcpKeepalive(x)),
      follow_cpu_affinity: (x) => (out.followCpuAffinity = asBool(x)),
    });
  } else {
    Object.assign(out, listenAddress(v, env));
  }
  checkPort(out);
  return Object.freeze(out);
}

/** A UDP listen value: as a TCP one, with `socket_buffer` and `socket_misc_opts` instead of the TCP-only keys. */
export function parseUdpListen(v: unknown, env: Env = process.env): UdpListenSpec {
  const out: Mutable<UdpListenSpec> = { host: '::', port: 0, ipFamily: 6, ipv6Only: false, instance: 1 };
  if (isMap(v)) {
    requireAddress(v, 'udp listen');
    forEachKey(v, 'udp listen', {
      ...baseHandlers(out, env),
      socket_buffer: (x) => (out.socketBuffer = parseSocketBuffer(x)),
      socket_misc_opts: (x) => (out.socketMiscOpts = parseUdpMiscOpts(x)),
    });
  } else {
    Object.assign(out, listenAddress(v, env));
  }
  checkPort(out);
  return Object.freeze(out);
}
