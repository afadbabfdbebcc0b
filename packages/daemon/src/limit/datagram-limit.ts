/**
 * g3's "global datagram speed limit" (a user's udp_all_upload/download_speed_limit): bytes and/or packets
 * replenished every interval, shared by every UDP relay of one user in the process. Datagrams over budget
 * are dropped, never queued: UDP senders expect loss, and a queue would only add latency.
 */
import { performance } from 'node:perf_hooks';
import { asUsize, isMap, parseDuration, parseSize, ValueError } from '@sluice/common';

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
  if (!isMap(v)) throw new ValueError('global datagram speed limit must be a size or a map');
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

/** The shared budget of one direction; refilled lazily from a timestamp, so an idle user costs no timer. */
export class DatagramBucket {
  private bytes: number;
  private packets: number;
  private last = performance.now();

  constructor(private readonly limit: GlobalDatagramLimit) {
    this.bytes = limit.maxBurstBytes;
    this.packets = limit.maxBurstPackets;
  }

  /** May a datagram of `size` bytes pass now? Charges the budget when it may. */
  allow(size: number): boolean {
    const l = this.limit;
    const now = performance.now();
    const n = Math.floor((now - this.last) / l.replenishIntervalMs);
    if (n > 0) {
      this.bytes = Math.min(l.maxBurstBytes, this.bytes + n * l.replenishBytes);
      this.packets = Math.min(l.maxBurstPackets, this.packets + n * l.replenishPackets);
      this.last += n * l.replenishIntervalMs;
    }
    if (l.replenishBytes > 0 && this.bytes < size) return false;
    if (l.replenishPackets > 0 && this.packets < 1) return false;
    this.bytes -= size;
    this.packets--;
    return true;
  }
}
