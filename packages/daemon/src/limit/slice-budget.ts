/**
 * The one byte accounting behind every socket speed limit (tcp_sock_speed_limit on servers, escapers and
 * users, and the untrusted read limit): g3's fixed window, a budget of `maxBytes` per time slice of 2^shift ms.
 * Slices are counted from the first byte charged, so a transfer's first slice is a whole one (a window aligned
 * on the clock would give it only what is left of the current slice). g3 reads at most what is left of the
 * budget; Node hands us whole chunks, so a chunk over the budget is paid for by the slices that follow and the
 * average rate holds whatever the chunk size.
 */
import { performance } from 'node:perf_hooks';
import type { TcpSpeedLimit } from '@sluice/common';

/** Anything that charges bytes and says how long to hold off afterwards. */
export interface ByteBudget {
  /** Account `n` bytes just moved; ms to wait before moving more (0 = go on). */
  take(n: number): number;
}

export class SliceBudget implements ByteBudget {
  private readonly sliceMs: number;
  private used = 0;
  private slice = 0;
  /** when slice 0 began: the first charge; -1 before it */
  private origin = -1;

  constructor(shiftMillis: number, private readonly maxBytes: number) {
    this.sliceMs = 2 ** shiftMillis;
  }

  take(n: number): number {
    const now = performance.now();
    if (this.origin < 0) this.origin = now;
    const slice = Math.floor((now - this.origin) / this.sliceMs);
    // each slice that began since the last charge pays back one budget of what was over
    if (slice > this.slice) {
      this.used = Math.max(0, this.used - (slice - this.slice) * this.maxBytes);
      this.slice = slice;
    }
    this.used += n;
    if (this.used < this.maxBytes) return 0;
    return Math.max(1, this.origin + (slice + Math.floor(this.used / this.maxBytes)) * this.sliceMs - now);
  }

  /** ms until what was charged so far is paid for (0 when within the budget); charges nothing. */
  debtMs(): number {
    return this.take(0);
  }
}

/** The upload and download budgets of a `tcp_sock_speed_limit`; null for a direction it does not limit. */
export function sliceBudgets(limit: TcpSpeedLimit | undefined | null): { up: SliceBudget | null; down: SliceBudget | null } {
  if (!limit?.enabled) return { up: null, down: null };
  return {
    up: limit.maxUpload > 0 ? new SliceBudget(limit.shiftMillis, limit.maxUpload) : null,
    down: limit.maxDownload > 0 ? new SliceBudget(limit.shiftMillis, limit.maxDownload) : null,
  };
}
