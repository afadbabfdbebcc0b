/**
 * One client connection to an http_rproxy server (the shared request loop is serve/http/connection.ts): each
 * request runs as an RProxyExchange, and between requests the upstream connection of the last site is kept
 * (reused only for the same site).
 */
import type { Socket } from 'node:net';
import type { RequestHead } from '@sluice/protocol';
import { sliceBudgets } from '../../limit/slice-budget.js';
import { ReadThrottle, throttleSocket } from '../../limit/socket-throttle.js';
import { HttpConnection } from '../http/connection.js';
import type { ClientInfo } from '../types.js';
import { RProxyExchange, type KeptUpstream } from './exchange.js';
import type { RProxySite } from './hosts.js';
import type { HttpRProxyServer } from './server.js';

export class RProxyConnection extends HttpConnection<HttpRProxyServer, RProxyExchange> {
  override readonly downThrottle: ReadThrottle | null = null;
  private kept: KeptUpstream | null = null;
  private keptTimer: NodeJS.Timeout | undefined;

  constructor(server: HttpRProxyServer, socket: Socket, info: ClientInfo) {
    super(server, socket, info, 401);
    // upload: reads from the client pause once the slice's budget is used (a resume asked for meanwhile
    // waits for the budget). Download: what the upstream sends is charged as it is read and pauses the
    // upstream socket, so the kernel's window holds the origin back rather than our memory.
    const { up, down } = sliceBudgets(server.config.speedLimit);
    if (up) throttleSocket(socket, up, null);
    if (down) this.downThrottle = new ReadThrottle(down, () => !socket.writableNeedDrain);
  }

  protected dispatch(head: RequestHead): void {
    const ex = new RProxyExchange(this, head, head.headBytes);
    this.exchange = ex;
    void ex.run();
  }

  protected readNext(): void {
    if (this.state === 'head') this.socket.resume();
  }

  // ---- between requests -------------------------------------------------------------------------------------

  /** The upstream kept for `site`, if it is still open; any other kept upstream is dropped. */
  takeKept(site: RProxySite): KeptUpstream['up'] | null {
    const k = this.kept;
    if (!k) return null;
    this.dropKept(k.site === site && !k.up.socket.destroyed);
    return k.site === site && !k.up.socket.destroyed ? k.up : null;
  }

  /** Keep an upstream connection for the next request: paused, dropped when it closes or idles out. */
  keep(k: KeptUpstream): void {
    this.dropKept(false);
    const s = k.up.socket;
    s.pause();
    s.once('close', this.onKeptGone);
    s.once('end', this.onKeptGone);
    this.kept = k;
    this.keptTimer = setTimeout(this.onKeptGone, this.server.config.upstreamKeepAlive.idleMs);
    this.keptTimer.unref();
  }

  private readonly onKeptGone = (): void => this.dropKept(false);

  protected override dropKeptUpstream(): void {
    this.dropKept(false);
  }

  /** Forget the kept upstream; `handOver` leaves its socket open for the caller. */
  private dropKept(handOver: boolean): void {
    const k = this.kept;
    if (!k) return;
    this.kept = null;
    clearTimeout(this.keptTimer);
    k.up.socket.off('close', this.onKeptGone);
    k.up.socket.off('end', this.onKeptGone);
    if (!handOver) k.up.socket.destroy();
  }

  protected onReleased(): void {
    this.server.connectionClosed(this);
  }
}
