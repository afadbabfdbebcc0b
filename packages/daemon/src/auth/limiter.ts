/**
 * The limiters a user carries: a GCRA-style token bucket for rate quotas (requests, connections, log lines)
 * and a byte bucket for process-wide speed limits (per-socket limits are limit/slice-budget.ts). Both refill
 * lazily from a timestamp, so an idle user costs no timer.
 */
import { performance } from 'node:perf_hooks';
import type { GlobalStreamLimit, RateLimitQuota } from '@sluice/common';
import type { ByteBudget } from '../limit/slice-budget.js';

export class RateLimiter {
  private tokens: number;
  private last = performance.now();

  constructor(private readonly quota: RateLimitQuota) {
    this.tokens = quota.maxBurst;
  }

  /** Take one token; false when the quota is used up (the caller refuses the work). */
  tryTake(): boolean {
    const now = performance.now();
    const q = this.quota;
    if (this.tokens < q.maxBurst) {
      const gained = Math.floor((now - this.last) / q.replenishIntervalMs) * q.tokensPerInterval;
      if (gained > 0) {
        this.tokens = Math.min(q.maxBurst, this.tokens + gained);
        this.last = this.tokens >= q.maxBurst ? now : this.last + (gained / q.tokensPerInterval) * q.replenishIntervalMs;
      }
    } else this.last = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** Bytes per interval shared by every stream of one user (tcp_all_upload/download_speed_limit). */
export class ByteBucket implements ByteBudget {
  private avail: number;
  private last = performance.now();

  constructor(readonly limit: GlobalStreamLimit) {
    this.avail = limit.maxBurstBytes;
  }

  private refill(now: number): void {
    const l = this.limit;
    const n = Math.floor((now - this.last) / l.replenishIntervalMs);
    if (n > 0) {
      this.avail = Math.min(l.maxBurstBytes, this.avail + n * l.replenishBytes);
      this.last += n * l.replenishIntervalMs;
    }
  }

  /** Account `bytes` just moved; returns ms to wait before moving more (0 = go on). */
  take(bytes: number): number {
    const now = performance.now();
    this.refill(now);
    this.avail -= bytes;
    if (this.avail > 0) return 0;
    const intervals = Math.ceil(-this.avail / this.limit.replenishBytes);
    return Math.max(1, this.last + intervals * this.limit.replenishIntervalMs - now);
  }
}
