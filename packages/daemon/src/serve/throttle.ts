/**
 * A token bucket for `tcp_sock_speed_limit`: bytes already read are passed on, and when the bucket runs dry the
 * source socket is paused until enough time has passed to pay for them. Reading pauses; nothing is buffered, so
 * the kernel's window pushes back on the sender.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export class SpeedThrottle {
  private tokens: number;
  private last = performance.now();
  private readonly perMs: number;
  private timer: NodeJS.Timeout | undefined;
  private src: Socket | null = null;
  /** true while the throttle holds its source paused */
  blocked = false;

  /**
   * @param bytesPerSlice bytes allowed per slice (also the burst size)
   * @param sliceMs slice length
   * @param mayResume whether the source may be resumed when the wait is over (e.g. the destination is not
   *   waiting for drain); when false, the drain handler resumes it later
   */
  constructor(private readonly bytesPerSlice: number, sliceMs: number, private readonly mayResume: () => boolean) {
    this.tokens = bytesPerSlice;
    this.perMs = bytesPerSlice / sliceMs;
  }

  /** Account for `n` bytes just read from `src`; pauses `src` when over the limit. */
  consume(n: number, src: Socket): void {
    const now = performance.now();
    this.tokens = Math.min(this.bytesPerSlice, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    this.tokens -= n;
    if (this.tokens >= 0 || this.blocked) return;
    this.blocked = true;
    this.src = src;
    src.pause();
    this.timer = setTimeout(this.onTimer, Math.ceil(-this.tokens / this.perMs));
  }

  private readonly onTimer = (): void => {
    this.blocked = false;
    const s = this.src;
    this.src = null;
    if (s && !s.destroyed && this.mayResume()) s.resume();
  };

  /** Milliseconds until the bytes consumed so far are paid for (0 when within the limit). */
  debtMs(): number {
    const tokens = this.tokens + (performance.now() - this.last) * this.perMs;
    return tokens >= 0 ? 0 : Math.ceil(-tokens / this.perMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.blocked = false;
    this.src = null;
  }
}

/** Throttles for both directions of a client connection from a parsed `tcp_sock_speed_limit`. */
export function throttlesFor(
  limit: { shiftMillis: number; maxUpload: number; maxDownload: number } | undefined,
  mayResumeUpload: () => boolean,
  mayResumeDownload: () => boolean,
): { up: SpeedThrottle | null; down: SpeedThrottle | null } {
  if (!limit) return { up: null, down: null };
  const slice = 2 ** limit.shiftMillis;
  return {
    up: limit.maxUpload > 0 ? new SpeedThrottle(limit.maxUpload, slice, mayResumeUpload) : null,
    down: limit.maxDownload > 0 ? new SpeedThrottle(limit.maxDownload, slice, mayResumeDownload) : null,
  };
}
