/**
 * g3's untrusted_read_speed_limit: a request refused for want of credentials is answered at once and its body
 * read to nothing at this rate, so a client that sends its whole body before looking at the response can retry
 * on the same connection. Bytes read ahead (while authenticating) are paid for before the next request is read,
 * so the whole body goes at the untrusted rate.
 */
import type { Socket } from 'node:net';
import type { TcpSpeedLimit } from '@sluice/common';
import { SliceBudget } from '../../limit/slice-budget.js';
import { ReadThrottle } from '../../limit/socket-throttle.js';

export class UntrustedDrain {
  /** null when the limit leaves uploads unlimited: the body is read as fast as it comes */
  private readonly throttle: ReadThrottle<SliceBudget> | null;
  private timer: NodeJS.Timeout | undefined;

  /** @param mayResume whether the client socket may flow again once the budget is back */
  constructor(limit: TcpSpeedLimit, mayResume: () => boolean) {
    this.throttle = limit.enabled && limit.maxUpload > 0 ? new ReadThrottle(new SliceBudget(limit.shiftMillis, limit.maxUpload), mayResume) : null;
  }

  /** true while the limit holds the client paused */
  get blocked(): boolean {
    return this.throttle?.blocked ?? false;
  }

  /** Charge `n` body bytes just read from `client`. */
  consume(n: number, client: Socket): void {
    this.throttle?.consume(n, client);
  }

  /** true when what was read is paid for; otherwise false, and `then` is called once it is. */
  paidFor(then: () => void): boolean {
    const wait = this.throttle?.budget.debtMs() ?? 0;
    if (wait <= 0) return true;
    this.timer = setTimeout(then, wait);
    return false;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.throttle?.stop();
  }
}
