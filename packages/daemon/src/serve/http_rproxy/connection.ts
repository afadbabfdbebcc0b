/**
 * One client connection to an http_rproxy server: reads request heads one at a time, runs each as an
 * RProxyExchange, and between requests keeps the client connection (keep-alive) and the upstream connection
 * of the last site (reused only for the same site). Bytes that arrive while a request is served are queued,
 * bounded, and read as its body or as the next request; the socket keeps flowing otherwise so a hang-up is
 * seen at once and cancels an upstream connect.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, type ErrorCode } from '@sluice/common';
import { HeadReader, HttpParseError, parseRequestHead, type HttpLimits } from '@sluice/protocol';
import type { AuthDenied } from '../../auth/server-auth.js';
import { sliceBudgets } from '../../limit/slice-budget.js';
import { ReadThrottle, throttleSocket } from '../../limit/socket-throttle.js';
import type { TaskContext } from '../../task/task.js';
import { HttpForwardTask } from '../../task/http-task.js';
import type { AliveWork } from '../base-server.js';
import { AuthFailureStreak, type AuthRefusal } from '../http/auth-refusal.js';
import { errorResponse } from '../http_proxy/responses.js';
import type { ClientInfo } from '../types.js';
import { RProxyExchange, type KeptUpstream } from './exchange.js';
import type { RProxySite } from './hosts.js';
import type { HttpRProxyServer } from './server.js';

/** Bytes held for a busy connection before reading from the client pauses. */
const MAX_QUEUED_BYTES = 256 * 1024;

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

function codeOfStatus(status: number): ErrorCode {
  if (status === 431) return 'CLIENT_HEAD_TOO_LARGE';
  if (status === 414) return 'CLIENT_URI_TOO_LONG';
  if (status === 501 || status === 505) return 'CLIENT_PROTOCOL_UNIMPLEMENTED';
  return 'CLIENT_PROTOCOL_INVALID';
}

export class RProxyConnection implements AliveWork {
  state: 'head' | 'busy' | 'closed' = 'head';
  exchange: RProxyExchange | null = null;
  /** aborts an upstream connect in flight when the client goes away */
  inflight: AbortController | null = null;
  readySince = performance.now();
  private readonly limits: HttpLimits;
  private readonly reader: HeadReader;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** request heads waiting in the queue (counted by their blank line), for pipeline_size */
  private queuedHeads = 0;
  private paused = false;
  private readonly authStreak = new AuthFailureStreak();
  /** requests read on this connection */
  requestCount = 0;
  /** tcp_sock_speed_limit download: charged with upstream reads, pauses the upstream socket */
  readonly downThrottle: ReadThrottle | null = null;
  private kept: KeptUpstream | null = null;
  private keptTimer: NodeJS.Timeout | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private betweenRequests = false;
  private activity = 0;
  private idleChecks = 0;
  private released = false;

  constructor(readonly server: HttpRProxyServer, readonly socket: Socket, readonly info: ClientInfo) {
    this.limits = { maxHeadBytes: server.config.reqHeadMaxBytes, maxHeaderCount: 100, maxUriLength: 8192 };
    this.reader = new HeadReader(this.limits);
    // upload: reads from the client pause once the slice's budget is used (a resume asked for meanwhile
    // waits for the budget). Download: what the upstream sends is charged as it is read and pauses the
    // upstream socket, so the kernel's window holds the origin back rather than our memory.
    const { up, down } = sliceBudgets(server.config.speedLimit);
    if (up) throttleSocket(socket, up, null);
    if (down) this.downThrottle = new ReadThrottle(down, () => !socket.writableNeedDrain);
  }

  get idle(): boolean {
    return this.state === 'head' && this.queuedBytes === 0 && this.reader.bufferedBytes === 0;
  }

  start(): void {
    const s = this.socket;
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.gone);
    s.on('close', this.gone);
    s.on('drain', () => this.exchange?.onClientDrain());
    this.armHeadTimer(false);
    s.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.activity++;
    if (this.state === 'head') this.readHead(chunk);
    else if (this.state === 'busy') {
      if (this.exchange?.wantsClientData) this.exchange.onClientData(chunk);
      else this.queue(chunk);
    }
  };

  private queue(chunk: Buffer): void {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    // pipeline_size: stop reading once that many request heads wait behind the current one (a body holding a
    // blank line only makes us pause early)
    if (this.state === 'busy' && !this.paused) {
      for (let i = chunk.indexOf(HEAD_END); i >= 0; i = chunk.indexOf(HEAD_END, i + 4)) this.queuedHeads++;
    }
    if ((this.queuedBytes > MAX_QUEUED_BYTES || this.queuedHeads >= this.server.config.pipelineSize) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  requeue(rest: Buffer): void {
    if (rest.length === 0) return;
    this.queued.unshift(rest);
    this.queuedBytes += rest.length;
  }

  takeQueued(): Buffer[] {
    const q = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.queuedHeads = 0;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    return q;
  }

  private readHead(chunk: Buffer): void {
    if (this.betweenRequests) this.armHeadTimer(false);
    let head;
    let rest: Buffer | null;
    let raw: Buffer | null = null;
    try {
      const r = this.reader.push(chunk);
      if (!r) return;
      rest = r.rest;
      raw = r.head;
      clearTimeout(this.headTimer);
      this.reader.reset();
      head = parseRequestHead(r.head, this.limits);
    } catch (e) {
      clearTimeout(this.headTimer);
      const status = e instanceof HttpParseError ? e.status : 400;
      const why = e instanceof HttpParseError ? e.detail : String((e as Error).message);
      const task = this.server.newTask(this);
      if (raw) {
        // the method is worth logging even for a head that did not parse
        const sp = raw.indexOf(0x20);
        if (sp > 0 && sp < 32) task.method = raw.toString('latin1', 0, sp);
        task.cRdBytes = raw.length;
      }
      return this.failTask(task, new SluiceError(codeOfStatus(status), `bad request: ${why}`), status, true, '', this.hideEarlyError());
    }
    this.state = 'busy';
    this.requestCount++;
    if (rest && rest.length > 0) this.requeue(rest);
    const ex = new RProxyExchange(this, head, head.headBytes);
    this.exchange = ex;
    void ex.run();
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

  exchangeDone(keepClient: boolean): void {
    this.exchange = null;
    this.inflight = null;
    if (this.state === 'closed') return;
    if (!keepClient || !this.server.online) return this.closeGracefully();
    this.state = 'head';
    this.readySince = performance.now();
    this.armHeadTimer(true);
    const q = this.takeQueued();
    for (let i = 0; i < q.length; i++) {
      if (this.state === 'head') this.readHead(q[i]!);
      else this.queue(q[i]!);
    }
    if (this.state === 'head') this.socket.resume();
  }

  /**
   * End `task` with `err`: answer `status` (with `extraHeaders`) unless the socket is gone or `silent`, then
   * keep or close the connection.
   */
  failTask(task: TaskContext, err: SluiceError, status: number, close: boolean, extraHeaders = '', silent = false): void {
    task.error = err;
    if (!silent && this.state !== 'closed' && !this.socket.destroyed) {
      const res = errorResponse(status, close, extraHeaders);
      task.cWrBytes += res.length;
      if (task instanceof HttpForwardTask) task.rspStatus = status;
      this.socket.write(res);
    }
    this.server.endTask(task);
    this.exchange = null;
    if (close) this.closeGracefully();
    else this.exchangeDone(true);
  }

  /** no_early_error_reply: a connection that has not had a request read answers nothing to a broken one. */
  private hideEarlyError(): boolean {
    return this.server.config.noEarlyErrorReply && this.requestCount === 0;
  }

  authPassed(): void {
    this.authStreak.passed();
  }

  /** How to answer a request the auth step refused (see AuthFailureStreak); 401 is the reverse proxy's challenge. */
  authRefusal(refused: AuthDenied): AuthRefusal {
    return this.authStreak.refused(refused, 401, this.server.config.noEarlyErrorReply);
  }

  closeGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.dropKept(false);
    this.socket.end();
    // a client that never reads our FIN must not hold the socket
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  // ---- timers and teardown ----------------------------------------------------------------------------------

  private armHeadTimer(between: boolean): void {
    clearTimeout(this.headTimer);
    this.betweenRequests = between;
    const c = this.server.config;
    this.headTimer = setTimeout(this.onHeadTimeout, between ? c.keepAliveIdleMs : c.reqHeadTimeoutMs);
    this.headTimer.unref();
  }

  private readonly onHeadTimeout = (): void => {
    if (this.state !== 'head') return;
    if (this.betweenRequests && this.reader.bufferedBytes === 0) return this.closeGracefully();
    this.failTask(this.server.newTask(this), new SluiceError('CLIENT_HEAD_TIMEOUT', 'request head not received in time'), 408, true, '', this.hideEarlyError());
  };

  private readonly onEnd = (): void => {
    if (this.state === 'head' && this.reader.bufferedBytes === 0) return this.closeGracefully();
    this.gone();
  };

  private readonly gone = (): void => {
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.inflight?.abort();
    this.exchange?.clientGone();
    this.exchange = null;
    this.dropKept(false);
    this.downThrottle?.stop();
    this.socket.destroy();
    if (!this.released) {
      this.released = true;
      this.server.connectionClosed(this);
    }
  };

  abort(): void {
    this.gone();
  }

  idleTick(max: number): boolean {
    if (this.state !== 'busy' || !this.exchange) return false;
    if (this.activity > 0 || this.exchange.activity > 0) {
      this.activity = 0;
      this.exchange.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    if (++this.idleChecks < max) return false;
    this.exchange.idleTimeout();
    return true;
  }
}
