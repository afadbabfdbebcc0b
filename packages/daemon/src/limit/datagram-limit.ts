/**
 * The budget of g3's "global datagram speed limit" (a user's udp_all_upload/download_speed_limit, parsed by
 * @sluice/common's parseGlobalDatagramLimit): bytes and/or packets replenished every interval, shared by every
 * UDP relay of one user in the process. Datagrams over budget
 * are dropped, never queued: UDP senders expect loss, and a queue would only add latency.
 */
import { performance } from 'node:perf_hooks';
import type { GlobalDatagramLimit } from '@sluice/common';

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
