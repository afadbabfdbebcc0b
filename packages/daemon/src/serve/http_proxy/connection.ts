/**
 * One client connection to an http_proxy server (the shared request loop is serve/http/connection.ts): each
 * request goes to a forward exchange or a CONNECT tunnel; upstream connections kept for this client only are
 * dropped with it.
 */
import type { Socket } from 'node:net';
import type { RequestHead } from '@sluice/protocol';
import { sliceBudgets } from '../../limit/slice-budget.js';
import { ReadThrottle } from '../../limit/socket-throttle.js';
import { HttpConnection } from '../http/connection.js';
import type { ClientInfo } from '../types.js';
import { ForwardExchange } from './forward.js';
import type { HttpProxyServer } from './server.js';
import { runTunnel } from './tunnel.js';

let nextConnectionId = 1;

export class HttpProxyConnection extends HttpConnection<HttpProxyServer, ForwardExchange> {
  readonly id = nextConnectionId++;
  /** pool keys of upstream connections kept for this client connection only; dropped when it goes */
  private ownKeys: string[] | null = null;
  /** set while a tunnel relays: idle checks are delegated to it */
  tunnelIdleTick: ((max: number) => boolean) | null = null;
  tunnelAbort: (() => void) | null = null;
  /** `tcp_sock_speed_limit`: client → upstream (pauses this socket) and upstream → client (pauses the upstream) */
  override readonly upThrottle: ReadThrottle | null;
  override readonly downThrottle: ReadThrottle | null;

  constructor(server: HttpProxyServer, socket: Socket, info: ClientInfo) {
    super(server, socket, info, 407);
    const { up, down } = sliceBudgets(server.config.speedLimit);
    this.upThrottle = up && new ReadThrottle(up, () => !this.paused && !this.exchange?.upstreamNeedsDrain);
    this.downThrottle = down && new ReadThrottle(down, () => !socket.writableNeedDrain);
  }

  protected dispatch(head: RequestHead, rawHead: Buffer): void {
    const headBytes = rawHead.length;
    if (head.method === 'CONNECT') {
      this.state = 'tunnel';
      void runTunnel(this, head, headBytes);
      return;
    }
    const ex = new ForwardExchange(this, head, headBytes);
    this.exchange = ex;
    void ex.run();
  }

  protected readNext(): void {
    // An exchange may have paused reading for upstream backpressure; the next request must be read.
    if (this.paused && this.queueFull()) return;
    this.paused = false;
    this.resumeReading();
  }

  protected override get relayOwnsSockets(): boolean {
    return this.tunnelIdleTick !== null;
  }

  /** Remember a pool key private to this connection (its kept upstreams go when the connection goes). */
  ownPoolKey(key: string): void {
    if (!this.ownKeys) this.ownKeys = [key];
    else if (!this.ownKeys.includes(key)) this.ownKeys.push(key);
  }

  protected onReleased(): void {
    if (this.ownKeys) for (const k of this.ownKeys) this.server.pool.dropKey(k);
    this.server.connectionClosed(this);
  }

  override abort(): void {
    if (this.tunnelAbort) return this.tunnelAbort();
    this.gone();
  }

  override idleTick(max: number): boolean {
    if (this.tunnelIdleTick) return this.tunnelIdleTick(max);
    return super.idleTick(max);
  }
}
