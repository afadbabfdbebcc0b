/**
 * Speed limits (sphinx configuration/values/rate_limit.rst, lib/g3-yaml/src/value/speed_limit.rs).
 *
 * Socket limits count bytes (and packets, for UDP) per time slice of 2^shift milliseconds. In the map
 * form a missing `shift_millis` means the limit is not set (`shiftMillis` 0, `enabled` false); the bare
 * size form sets shift 10 (1024 ms slices) and the same limit both ways.
 */
import { ValueError, describe } from './errors.js';
import { parseDuration, parseSize } from './humanize.js';
import { asU8, asUsize, forEachKey, isMap } from './primitives.js';

const SHIFT_DEFAULT = 10;
const SHIFT_MAX = 12;

export interface TcpSpeedLimit {
  /** false when the map form gave no shift: no limit */
  readonly enabled: boolean;
  /** slice length is 2^shiftMillis ms; 0 when disabled */
  readonly shiftMillis: number;
  /** bytes per slice, client → upstream */
  readonly maxUpload: number;
  /** bytes per slice, upstream → client */
  readonly maxDownload: number;
}

function checkShift(shift: number): void {
  if (shift > SHIFT_MAX) throw new ValueError(`shift_millis ${shift} is too large (max ${SHIFT_MAX}, about 4s slices)`);
}

/** tcp_sock_speed_limit: a size (both directions, 1024 ms slices) or `{shift_millis|shift, upload|north, download|south}`. */
export function parseTcpSpeedLimit(v: unknown): TcpSpeedLimit {
  if (typeof v === 'number' || typeof v === 'string') {
    const limit = parseSize(v);
    if (limit === 0) throw new ValueError('speed limit must not be 0');
    return Object.freeze({ enabled: true, shiftMillis: SHIFT_DEFAULT, maxUpload: limit, maxDownload: limit });
  }
  if (!isMap(v)) throw new ValueError(`tcp speed limit must be a size or a map, got ${describe(v)}`);
  let shift = 0;
  let up = 0;
  let down = 0;
  const setShift = (x: unknown) => (shift = asU8(x));
  const setUp = (x: unknown) => (up = parseSize(x));
  const setDown = (x: unknown) => (down = parseSize(x));
  forEachKey(v, 'tcp speed limit', {
    shift_millis: setShift,
    shift: setShift,
    upload: setUp,
    north: setUp,
    upload_bytes: setUp,
    north_bytes: setUp,
    download: setDown,
    south: setDown,
    download_bytes: setDown,
    south_bytes: setDown,
  });
  if (shift > 0) {
    checkShift(shift);
    if (up === 0) throw new ValueError('the upload limit must not be 0 when the limit is enabled (shift_millis set)');
    if (down === 0) throw new ValueError('the download limit must not be 0 when the limit is enabled (shift_millis set)');
  }
  return Object.freeze({ enabled: shift > 0, shiftMillis: shift, maxUpload: up, maxDownload: down });
}

export interface UdpSpeedLimit {
  readonly enabled: boolean;
  readonly shiftMillis: number;
  /** 0 = no limit on that count */
  readonly maxUploadBytes: number;
  readonly maxDownloadBytes: number;
  readonly maxUploadPackets: number;
  readonly maxDownloadPackets: number;
}

/**
 * udp_sock_speed_limit: a size (bytes both ways, 1024 ms slices, packets unlimited) or
 * `{shift_millis|shift, upload_bytes|north_bytes, download_bytes|south_bytes, upload_packets|north_packets,
 * download_packets|south_packets}`; 0 means no limit on that count.
 */
export function parseUdpSpeedLimit(v: unknown): UdpSpeedLimit {
  if (typeof v === 'number' || typeof v === 'string') {
    const limit = parseSize(v);
    return Object.freeze({
      enabled: true,
      shiftMillis: SHIFT_DEFAULT,
      maxUploadBytes: limit,
      maxDownloadBytes: limit,
      maxUploadPackets: 0,
      maxDownloadPackets: 0,
    });
  }
  if (!isMap(v)) throw new ValueError(`udp speed limit must be a size or a map, got ${describe(v)}`);
  let shift = 0;
  let upBytes = 0;
  let downBytes = 0;
  let upPackets = 0;
  let downPackets = 0;
  const setShift = (x: unknown) => (shift = asU8(x));
  const setUpBytes = (x: unknown) => (upBytes = parseSize(x));
  const setDownBytes = (x: unknown) => (downBytes = parseSize(x));
  const setUpPackets = (x: unknown) => (upPackets = asUsize(x));
  const setDownPackets = (x: unknown) => (downPackets = asUsize(x));
  forEachKey(v, 'udp speed limit', {
    shift_millis: setShift,
    shift: setShift,
    upload_bytes: setUpBytes,
    north_bytes: setUpBytes,
    download_bytes: setDownBytes,
    south_bytes: setDownBytes,
    upload_packets: setUpPackets,
    north_packets: setUpPackets,
    download_packets: setDownPackets,
    south_packets: setDownPackets,
  });
  checkShift(shift);
  return Object.freeze({
    enabled: shift > 0,
    shiftMillis: shift,
    maxUploadBytes: upBytes,
    maxDownloadBytes: downBytes,
    maxUploadPackets: upPackets,
    maxDownloadPackets: downPackets,
  });
}

export interface GlobalStreamLimit {
  readonly replenishIntervalMs: number;
  readonly replenishBytes: number;
  /** never below replenishBytes */
  readonly maxBurstBytes: number;
}

/**
 * Global stream speed limit: a size (bytes per second, burst the same) or
 * `{replenish_interval (1s), replenish_bytes (required), max_burst_bytes (default replenish_bytes)}`.
 */
export function parseGlobalStreamLimit(v: unknown): GlobalStreamLimit {
  if (typeof v === 'number' || typeof v === 'string') {
    const size = parseSize(v);
    if (size === 0) throw new ValueError('global speed limit must not be 0');
    return Object.freeze({ replenishIntervalMs: 1000, replenishBytes: size, maxBurstBytes: size });
  }
  if (!isMap(v)) throw new ValueError(`global speed limit must be a size or a map, got ${describe(v)}`);
  let interval = 1000;
  let bytes = 0;
  let burst = 0;
  forEachKey(v, 'global speed limit', {
    replenish_interval: (x) => (interval = parseDuration(x)),
    replenish_bytes: (x) => (bytes = parseSize(x)),
    max_burst_bytes: (x) => (burst = parseSize(x)),
  });
  if (bytes === 0) throw new ValueError('global speed limit map needs a non-zero replenish_bytes');
  if (interval <= 0) throw new ValueError('replenish_interval must be greater than zero');
  return Object.freeze({ replenishIntervalMs: interval, replenishBytes: bytes, maxBurstBytes: Math.max(burst, bytes) });
}

export interface GlobalDatagramLimit {
  readonly replenishIntervalMs: number;
  /** 0 = bytes are not limited */
  readonly replenishBytes: number;
  /** 0 = packets are not limited */
  readonly replenishPackets: number;
  readonly maxBurstBytes: number;
  readonly maxBurstPackets: number;
}

/**
 * A size (replenish_bytes per second) or `{replenish_interval (1s), replenish_bytes, replenish_packets,
 * max_burst_bytes, max_burst_packets}` with at least one of the replenish counts; bursts default to them.
 */
export function parseGlobalDatagramLimit(v: unknown): GlobalDatagramLimit {
  if (typeof v === 'number' || typeof v === 'string') {
    const bytes = parseSize(v);
    if (bytes === 0) throw new ValueError('global datagram speed limit must not be 0');
    return Object.freeze({ replenishIntervalMs: 1000, replenishBytes: bytes, replenishPackets: 0, maxBurstBytes: bytes, maxBurstPackets: 0 });
  }
  if (!isMap(v)) throw new ValueError(`global datagram speed limit must be a size or a map, got ${describe(v)}`);
  let interval = 1000;
  let bytes = 0;
  let packets = 0;
  let burstBytes = 0;
  let burstPackets = 0;
  for (const [key, x] of Object.entries(v)) {
    switch (key.toLowerCase().replace(/-/g, '_')) {
      case 'replenish_interval': interval = parseDuration(x); break;
      case 'replenish_bytes': bytes = parseSize(x); break;
      case 'replenish_packets': packets = asUsize(x); break;
      case 'max_burst_bytes': burstBytes = parseSize(x); break;
      case 'max_burst_packets': burstPackets = asUsize(x); break;
      default: throw new ValueError(`invalid key '${key}' in global datagram speed limit`, [key]);
    }
  }
  if (bytes === 0 && packets === 0) throw new ValueError('global datagram speed limit needs replenish_bytes or replenish_packets');
  if (interval <= 0) throw new ValueError('replenish_interval must be greater than zero');
  return Object.freeze({
    replenishIntervalMs: interval,
    replenishBytes: bytes,
    replenishPackets: packets,
    maxBurstBytes: bytes === 0 ? 0 : Math.max(burstBytes, bytes),
    maxBurstPackets: packets === 0 ? 0 : Math.max(burstPackets, packets),
  });
}
