/**
 * Idle kept-alive upstream connections of one http_proxy server, reusable by any client connection going to
 * the same place (same escaper, scheme, host and port). Bounded in count; an entry expires after the
 * configured idle time, and one the origin closes (or sends stray bytes on) is dropped at once. One sweep
 * timer per pool, not one per connection.
 */
import { performance } from 'node:perf_hooks';
import type { HttpForwardConnection } from '../../escape/types.js';

class Entry {
  readonly since = performance.now();
  /** idle_expire of this entry: the pool's, or the user's http_upstream_keepalive */
  constructor(readonly pool: UpstreamPool, readonly key: string, readonly conn: HttpForwardConnection, readonly idleMs: number) {}
  /** closed, errored or sent bytes nobody asked for: unusable */
  readonly onGone = (): void => {
    this.pool.remove(this);
    this.conn.socket.destroy();
  };
}

export class UpstreamPool {
  private readonly byKey = new Map<string, Entry[]>();
  private size = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private maxIdle: number, private idleMs: number) {}

  configure(maxIdle: number, idleMs: number): void {
    this.maxIdle = maxIdle;
    this.idleMs = idleMs;
    if (this.size > maxIdle) this.clear();
  }

  get idleCount(): number {
    return this.size;
  }

  /** The most recently kept live connection for `key`, or null. */
  take(key: string): HttpForwardConnection | null {
    const list = this.byKey.get(key);
    while (list && list.length > 0) {
      const e = list.pop()!;
      this.size--;
      this.unwatch(e);
      if (list.length === 0) this.byKey.delete(key);
      const s = e.conn.socket;
      if (!s.destroyed && s.readyState === 'open' && performance.now() - e.since < e.idleMs) return e.conn;
      s.destroy();
    }
    return null;
  }

  /**
   * Keep `conn` for reuse (for `idleMs`, default the pool's); returns false (and the caller closes it) when the
   * pool is full.
   */
  put(key: string, conn: HttpForwardConnection, idleMs = this.idleMs): boolean {
    if (this.size >= this.maxIdle || idleMs <= 0) return false;
    const e = new Entry(this, key, conn, idleMs);
    let list = this.byKey.get(key);
    if (!list) {
      list = [];
      this.byKey.set(key, list);
    }
    list.push(e);
    this.size++;
    const s = conn.socket;
    s.on('close', e.onGone);
    s.on('end', e.onGone);
    s.on('error', e.onGone);
    s.on('data', e.onGone);
    // keep reading so a FIN from the origin is seen while idle
    s.resume();
    this.armSweep();
    return true;
  }

  /** Close every kept connection under `key`. */
  dropKey(key: string): void {
    const list = this.byKey.get(key);
    if (list) for (const e of [...list]) e.onGone();
  }

  remove(e: Entry): void {
    const list = this.byKey.get(e.key);
    if (!list) return;
    const i = list.indexOf(e);
    if (i < 0) return;
    list.splice(i, 1);
    this.size--;
    this.unwatch(e);
    if (list.length === 0) this.byKey.delete(e.key);
  }

  private unwatch(e: Entry): void {
    const s = e.conn.socket;
    s.off('close', e.onGone);
    s.off('end', e.onGone);
    s.off('error', e.onGone);
    s.off('data', e.onGone);
    s.pause();
  }

  private armSweep(): void {
    if (this.sweepTimer) return;
    const every = Math.min(Math.max(this.idleMs / 4, 250), 10_000);
    this.sweepTimer = setInterval(this.sweep, every);
    this.sweepTimer.unref();
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const list of [...this.byKey.values()]) {
      for (const e of [...list]) if (now - e.since >= e.idleMs) e.onGone();
    }
    if (this.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  };

  clear(): void {
    for (const list of [...this.byKey.values()]) for (const e of [...list]) e.onGone();
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}
