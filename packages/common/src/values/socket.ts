/**
 * Socket and connection option values (lib/g3-yaml/src/value/net/{tcp,udp,buf,http,haproxy}.rs).
 * Durations are milliseconds.
 */
import { ValueError, describe } from './errors.js';
import { parseDuration, parseSize } from './humanize.js';
import { asBool, asString, asU16, asU32, asU8, asUsize, expectMap, forEachKey, isMap, type Mutable } from './primitives.js';

export interface TcpKeepalive {
  readonly enabled: boolean;
  /** idle time before the first probe, default 60s */
  readonly idleTimeMs: number;
  readonly probeIntervalMs?: number;
  readonly probeCount?: number;
}

const KEEPALIVE_IDLE_DEFAULT_MS = 60_000;

/** TCP keepalive: `bool`, a duration (enabled with that idle time), or `{enable, idle_time, probe_interval, probe_count}`. */
export function parseTcpKeepalive(v: unknown): TcpKeepalive {
  if (typeof v === 'boolean') return Object.freeze({ enabled: v, idleTimeMs: KEEPALIVE_IDLE_DEFAULT_MS });
  if (!isMap(v)) return Object.freeze({ enabled: true, idleTimeMs: parseDuration(v) });
  const out: Mutable<TcpKeepalive> = { enabled: false, idleTimeMs: KEEPALIVE_IDLE_DEFAULT_MS };
  forEachKey(v, 'tcp keepalive', {
    enable: (x) => (out.enabled = asBool(x)),
    idle_time: (x) => (out.idleTimeMs = parseDuration(x)),
    probe_interval: (x) => (out.probeIntervalMs = parseDuration(x)),
    probe_count: (x) => (out.probeCount = asU32(x)),
  });
  return Object.freeze(out);
}

export interface TcpMiscOpts {
  readonly noDelay?: boolean;
  readonly maxSegmentSize?: number;
  readonly timeToLive?: number;
  readonly hopLimit?: number;
  readonly typeOfService?: number;
  readonly trafficClass?: number;
  readonly congestionControl?: string;
  readonly netfilterMark?: number;
}

/** tcp_misc_opts map: no_delay, max_segment_size|mss, time_to_live|ttl, hop_limit, type_of_service|tos, traffic_class, congestion_control, netfilter_mark|mark. */
export function parseTcpMiscOpts(v: unknown): TcpMiscOpts {
  const map = expectMap(v, 'tcp misc opts');
  const out: Mutable<TcpMiscOpts> = {};
  const mss = (x: unknown) => (out.maxSegmentSize = asU16(x));
  const ttl = (x: unknown) => (out.timeToLive = asU8(x));
  const tos = (x: unknown) => (out.typeOfService = asU8(x));
  const mark = (x: unknown) => (out.netfilterMark = asU32(x));
  forEachKey(map, 'tcp misc opts', {
    no_delay: (x) => (out.noDelay = asBool(x)),
    max_segment_size: mss,
    mss,
    time_to_live: ttl,
    ttl,
    hop_limit: (x) => (out.hopLimit = asU8(x)),
    type_of_service: tos,
    tos,
    traffic_class: (x) => (out.trafficClass = asU8(x)),
    congestion_control: (x) => (out.congestionControl = asString(x)),
    netfilter_mark: mark,
    mark,
  });
  return Object.freeze(out);
}

export interface UdpMiscOpts {
  readonly timeToLive?: number;
  readonly hopLimit?: number;
  readonly typeOfService?: number;
  readonly trafficClass?: number;
  readonly netfilterMark?: number;
}

/** udp_misc_opts map: time_to_live|ttl, hop_limit, type_of_service|tos, traffic_class, netfilter_mark|mark. */
export function parseUdpMiscOpts(v: unknown): UdpMiscOpts {
  const map = expectMap(v, 'udp misc opts');
  const out: Mutable<UdpMiscOpts> = {};
  const ttl = (x: unknown) => (out.timeToLive = asU8(x));
  const tos = (x: unknown) => (out.typeOfService = asU8(x));
  const mark = (x: unknown) => (out.netfilterMark = asU32(x));
  forEachKey(map, 'udp misc opts', {
    time_to_live: ttl,
    ttl,
    hop_limit: (x) => (out.hopLimit = asU8(x)),
    type_of_service: tos,
    tos,
    traffic_class: (x) => (out.trafficClass = asU8(x)),
    netfilter_mark: mark,
    mark,
  });
  return Object.freeze(out);
}

export interface SocketBuffer {
  readonly recvSize?: number;
  readonly sendSize?: number;
}

/** socket_buffer: a size for both directions, or `{recv|receive|read, send|write}`. */
export function parseSocketBuffer(v: unknown): SocketBuffer {
  if (typeof v === 'number' || typeof v === 'string') {
    const size = parseSize(v);
    return Object.freeze({ recvSize: size, sendSize: size });
  }
  const map = expectMap(v, 'socket buffer');
  const out: Mutable<SocketBuffer> = {};
  const recv = (x: unknown) => (out.recvSize = parseSize(x));
  const send = (x: unknown) => (out.sendSize = parseSize(x));
  forEachKey(map, 'socket buffer', { recv, receive: recv, read: recv, send, write: send });
  return Object.freeze(out);
}

export interface TcpConnect {
  /** retries after the first attempt, default 2 */
  readonly maxRetry: number;
  /** maxRetry + 1 */
  readonly maxTries: number;
  /** timeout of each attempt, default 30s */
  readonly eachTimeoutMs: number;
}

/** tcp_connect map: `{max_retry (2), each_timeout (30s)}`. */
export function parseTcpConnect(v: unknown): TcpConnect {
  const map = expectMap(v, 'tcp connect config');
  let maxRetry = 2;
  let eachTimeoutMs = 30_000;
  forEachKey(map, 'tcp connect config', {
    max_retry: (x) => (maxRetry = asUsize(x)),
    each_timeout: (x) => (eachTimeoutMs = parseDuration(x)),
  });
  return Object.freeze({ maxRetry, maxTries: maxRetry + 1, eachTimeoutMs });
}

export interface HappyEyeballs {
  /** wait this long for the preferred family's answer after the other arrived, default 50ms */
  readonly resolutionDelayMs: number;
  /** give up on the second resolution after this long, default 2s */
  readonly secondResolutionTimeoutMs: number;
  /** how many addresses of the first family to try before alternating, default 1 */
  readonly firstAddressFamilyCount: number;
  /** delay between connection attempts, default 250ms, clamped to 100ms..2s as g3proxy does */
  readonly connectionAttemptDelayMs: number;
}

/** happy_eyeballs map. */
export function parseHappyEyeballs(v: unknown): HappyEyeballs {
  const map = expectMap(v, 'happy eyeballs config');
  const out: Mutable<HappyEyeballs> = {
    resolutionDelayMs: 50,
    secondResolutionTimeoutMs: 2000,
    firstAddressFamilyCount: 1,
    connectionAttemptDelayMs: 250,
  };
  const delay = (x: unknown) => (out.resolutionDelayMs = parseDuration(x));
  forEachKey(map, 'happy eyeballs config', {
    resolution_delay: delay,
    first_resolution_delay: delay,
    second_resolution_timeout: (x) => (out.secondResolutionTimeoutMs = parseDuration(x)),
    first_address_family_count: (x) => (out.firstAddressFamilyCount = asUsize(x)),
    connection_attempt_delay: (x) => (out.connectionAttemptDelayMs = Math.min(2000, Math.max(100, parseDuration(x)))),
  });
  return Object.freeze(out);
}

export interface HttpKeepalive {
  readonly enabled: boolean;
  /** close an idle pooled connection after this long, default 60s */
  readonly idleExpireMs: number;
}

/** HTTP keepalive: `bool`, a duration (enabled with that idle expiry), or `{enable (true), idle_expire (60s)}`. */
export function parseHttpKeepalive(v: unknown): HttpKeepalive {
  if (typeof v === 'boolean') return Object.freeze({ enabled: v, idleExpireMs: 60_000 });
  if (!isMap(v)) return Object.freeze({ enabled: true, idleExpireMs: parseDuration(v) });
  const out: Mutable<HttpKeepalive> = { enabled: true, idleExpireMs: 60_000 };
  forEachKey(v, 'http keepalive', {
    enable: (x) => (out.enabled = asBool(x)),
    idle_expire: (x) => (out.idleExpireMs = parseDuration(x)),
  });
  return Object.freeze(out);
}

export type ProxyProtocolVersion = 1 | 2;

/** PROXY protocol version: 1 or 2. */
export function parseProxyProtocolVersion(v: unknown): ProxyProtocolVersion {
  if (typeof v !== 'number' && typeof v !== 'string') {
    throw new ValueError(`PROXY protocol version must be 1 or 2, got ${describe(v)}`);
  }
  const n = asU8(v);
  if (n !== 1 && n !== 2) throw new ValueError(`unsupported PROXY protocol version ${n} (use 1 or 2)`);
  return n;
}
