/**
 * One client connection to an http_proxy server: reads request heads, dispatches each request to a forward
 * exchange or a CONNECT tunnel, and keeps the connection (and a kept-alive upstream) between requests.
 *
 * Data that arrives while a request is being served (the rest of a pipelined burst, early tunnel bytes) is
 * queued, bounded, and replayed in order once the connection is ready for it; the socket keeps flowing so
 * that a client hanging up is noticed at once and cancels the upstream connect.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, type ErrorCode } from '@sluice/common';
import { HeadReader, HttpParseError, parseRequestHead, type HttpLimits, type RequestHead } from '@sluice/protocol';
import { HttpForwardTask } from '../../task/http-task.js';
import type { AuthDenied } from '../../auth/server-auth.js';
import type { AliveWork } from '../base-server.js';
import { AuthFailureStreak, type AuthRefusal } from '../http/auth-refusal.js';
import type { ClientInfo } from '../types.js';
import { sliceBudgets } from '../../limit/slice-budget.js';
import { ReadThrottle } from '../../limit/socket-throttle.js';
import { ForwardExchange } from './forward.js';
import type { HttpProxyServer } from './server.js';
import { errorResponse } from './responses.js';
import { runTunnel } from './tunnel.js';

type State = 'head' | 'busy' | 'tunnel' | 'closed';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Bytes we hold for a busy connection before we stop reading from the client. */
const MAX_QUEUED_BYTES = 256 * 1024;

export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 431: return 'CLIENT_HEAD_TOO_LARGE';
    case 414: return 'CLIENT_URI_TOO_LONG';
    case 501: case 505: return 'CLIENT_PROTOCOL_UNIMPLEMENTED';
    default: return 'CLIENT_PROTOCOL_INVALID';
  }
}

let nextConnectionId = 1;

export class HttpProxyConnection implements AliveWork {
  readonly id = nextConnectionId++;
  state: State = 'head';
  /** pool keys of upstream connections kept for this client connection only; dropped when it goes */
  private ownKeys: string[] | null = null;
  private readonly reader: HeadReader;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private queuedHeads = 0;
  private paused = false;
  private headTimer: NodeJS.Timeout | undefined;
  private headTimerIsIdle = false;
  /** the exchange currently served (forward) */
  exchange: ForwardExchange | null = null;
  /** aborts whatever is in flight (connect, tunnel setup) when the client goes away */
  inflight: AbortController | null = null;
  /** `tcp_sock_speed_limit`: client → upstream (pauses this socket) and upstream → client (pauses the upstream) */
  readonly upThrottle: ReadThrottle | null;
  readonly downThrottle: ReadThrottle | null;
  /** time the connection became ready for the next request (pipeline_wait) */
  readySince = performance.now();
  /** traffic seen since the last idle check (both directions) */
  activity = 0;
  private idleChecks = 0;
  /** set while a tunnel relays: idle checks are delegated to it */
  tunnelIdleTick: ((max: number) => boolean) | null = null;
  tunnelAbort: (() => void) | null = null;
  readonly limits: HttpLimits;
  requestCount = 0;
  private readonly authStreak = new AuthFailureStreak();

  constructor(readonly server: HttpProxyServer, readonly socket: Socket, readonly info: ClientInfo) {
    const c = server.config;
    this.limits = { maxHeadBytes: c.reqHeadMaxBytes, maxHeaderCount: 100, maxUriLength: 8192 };
    this.reader = new HeadReader(this.limits);
    const { up, down } = sliceBudgets(c.speedLimit);
    this.upThrottle = up && new ReadThrottle(up, () => !this.paused && !this.exchange?.upstreamNeedsDrain);
    this.downThrottle = down && new ReadThrottle(down, () => !socket.writableNeedDrain);
  }

  /** Resume reading the client unless the speed limit holds it paused. */
  resumeReading(): void {
    if (!this.upThrottle?.blocked) this.socket.resume();
  }

  get idle(): boolean {
    return this.state === 'head' && this.queuedBytes === 0 && this.reader.bufferedBytes === 0;
  }

  start(): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    s.on('drain', this.onDrain);
    this.armHeadTimer(false);
    s.resume();
  }

  // ---- reading ----------------------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.activity++;
    if (this.upThrottle) this.upThrottle.consume(chunk.length, this.socket);
    if (this.state === 'head') this.feedHead(chunk);
    else if (this.state === 'busy') {
      if (this.exchange?.wantsClientData) this.exchange.onClientData(chunk);
      else this.queue(chunk);
    }
  };

  private queue(chunk: Buffer): void {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    // pipeline_size: stop reading once about that many request heads wait behind the current one (heads are
    // counted by their blank line, so a body containing one only makes us pause early)
    if (this.state === 'busy' && !this.paused) {
      for (let i = chunk.indexOf(HEAD_END); i >= 0; i = chunk.indexOf(HEAD_END, i + 4)) this.queuedHeads++;
    }
    if ((this.queuedBytes > MAX_QUEUED_BYTES || this.queuedHeads >= this.server.config.pipelineSize) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** Give back bytes that belong after the current message (pipelined next request). */
  requeue(rest: Buffer): void {
    if (rest.length === 0) return;
    this.queued.unshift(rest);
    this.queuedBytes += rest.length;
  }

  /** Take everything queued (the exchange consumes it as request body). */
  takeQueued(): Buffer[] {
    const q = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.queuedHeads = 0;
    if (this.paused) {
      // the queue limit paused reading; whoever took the queue now consumes the stream directly
      this.paused = false;
      this.resumeReading();
    }
    return q;
  }

  private feedHead(chunk: Buffer): void {
    if (this.headTimerIsIdle) this.armHeadTimer(false);
    let r: { head: Buffer; rest: Buffer | null } | null;
    try {
      r = this.reader.push(chunk);
    } catch (e) {
      this.rejectRequest(e, null);
      return;
    }
    if (!r) return;
    clearTimeout(this.headTimer);
    this.reader.reset();
    let head: RequestHead;
    try {
      head = parseRequestHead(r.head, this.limits);
    } catch (e) {
      this.rejectRequest(e, r.head);
      return;
    }
    this.state = 'busy';
    if (r.rest && r.rest.length > 0) this.requeue(r.rest);
    this.dispatch(head, r.head.length);
  }

  private dispatch(head: RequestHead, headBytes: number): void {
    this.requestCount++;
    if (head.method === 'CONNECT') {
      this.state = 'tunnel';
      void runTunnel(this, head, headBytes);
      return;
    }
    const ex = new ForwardExchange(this, head, headBytes);
    this.exchange = ex;
    void ex.run();
  }

  // ---- finishing a request --------------------------------------------------------------------------------

  /** The current exchange is over; keep the connection for the next request or close it. */
  exchangeDone(keepClient: boolean): void {
    this.exchange = null;
    this.inflight = null;
    if (this.state === 'closed') return;
    if (!keepClient || !this.server.online) {
      this.closeGracefully();
      return;
    }
    this.state = 'head';
    this.readySince = performance.now();
    this.armHeadTimer(true);
    const q = this.takeQueued();
    for (let i = 0; i < q.length; i++) {
      if (this.state === 'head') this.feedHead(q[i]!);
      else this.queue(q[i]!);
    }
    // An exchange may have paused reading for upstream backpressure; the next request must be read.
    if (this.paused && (this.queuedBytes > MAX_QUEUED_BYTES || this.queuedHeads >= this.server.config.pipelineSize)) return;
    this.paused = false;
    this.resumeReading();
  }

  /** Answer a request that could not be parsed, log it as a task, and close: framing can't be trusted anymore. */
  private rejectRequest(e: unknown, rawHead: Buffer | null): void {
    const status = e instanceof HttpParseError ? e.status : 400;
    const detail = e instanceof HttpParseError ? e.detail : String((e as Error)?.message ?? e);
    const task = this.server.newHttpTask(this);
    if (rawHead) {
      const sp = rawHead.indexOf(0x20);
      if (sp > 0 && sp < 32) task.method = rawHead.toString('latin1', 0, sp);
    }
    task.cRdBytes = rawHead?.length ?? 0;
    this.failTask(task, new SluiceError(statusToCode(status), `bad request: ${detail}`), status, true, '', this.hideEarlyError());
  }

  /**
   * End `task` with `err`, answering the client with `status` when nothing was sent yet. With `close` the
   * connection ends after the response.
   */
  failTask(task: HttpForwardTask | import('../../task/task.js').TaskContext, err: SluiceError, status: number, close: boolean, extraHeaders = '', silent = false): void {
    task.error = err;
    if (!silent && this.state !== 'closed' && !this.socket.destroyed) {
      const res = errorResponse(status, close, extraHeaders);
      task.cWrBytes += res.length;
      if (task instanceof HttpForwardTask) task.rspStatus = status;
      this.socket.write(res);
    }
    this.server.endTask(task);
    if (close) this.closeGracefully();
    else this.exchangeDone(true);
  }

  /** A request passed authentication (later checks may still refuse it). */
  authPassed(): void {
    this.authStreak.passed();
  }

  /** How to answer a request the auth step refused (see AuthFailureStreak). */
  authRefusal(refused: AuthDenied): AuthRefusal {
    return this.authStreak.refused(refused, 407, this.server.config.noEarlyErrorReply);
  }

  /** no_early_error_reply: a connection that has not had a request served answers nothing (port hiding). */
  private hideEarlyError(): boolean {
    return this.server.config.noEarlyErrorReply && this.requestCount === 0;
  }

  closeGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.socket.end();
    // A client that never reads our FIN's data must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  // ---- timers and teardown ----------------------------------------------------------------------------------

  private armHeadTimer(idleBetweenRequests: boolean): void {
    clearTimeout(this.headTimer);
    this.headTimerIsIdle = idleBetweenRequests;
    const ms = idleBetweenRequests ? this.server.config.keepAliveIdleMs : this.server.config.reqHeadTimeoutMs;
    this.headTimer = setTimeout(this.onHeadTimeout, ms);
    this.headTimer.unref();
  }

  private readonly onHeadTimeout = (): void => {
    if (this.state !== 'head') return;
    if (this.headTimerIsIdle && this.reader.bufferedBytes === 0) {
      // an idle keep-alive connection simply goes away
      this.closeGracefully();
      return;
    }
    const task = this.server.newHttpTask(this);
    this.failTask(task, new SluiceError('CLIENT_HEAD_TIMEOUT', 'request head not received in time'), 408, true, '', this.hideEarlyError());
  };

  private readonly onDrain = (): void => {
    this.exchange?.onClientDrain();
  };

  private readonly onEnd = (): void => {
    // A client that half-closes while idle is done; while a request is in flight it is treated as gone, which
    // also cancels a pending upstream connect.
    if (this.state === 'head' && this.reader.bufferedBytes === 0) {
      this.closeGracefully();
      return;
    }
    if (this.state === 'tunnel' && this.tunnelIdleTick) return; // the relay handles half-close
    this.gone();
  };

  private readonly onError = (): void => {
    this.gone();
  };

  private readonly onClose = (): void => {
    this.gone();
  };

  private released = false;

  /** The client is gone: abort in-flight work, drop the kept upstream, stop tracking. */
  private gone(): void {
    if (this.tunnelIdleTick) return; // a relaying tunnel owns the sockets now
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.inflight?.abort();
    this.exchange?.clientGone();
    this.exchange = null;
    this.upThrottle?.stop();
    this.downThrottle?.stop();
    this.socket.destroy();
    this.release();
  }

  /** Remember a pool key private to this connection (its kept upstreams go when the connection goes). */
  ownPoolKey(key: string): void {
    if (!this.ownKeys) this.ownKeys = [key];
    else if (!this.ownKeys.includes(key)) this.ownKeys.push(key);
  }

  /** Stop counting this connection as alive work (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.ownKeys) for (const k of this.ownKeys) this.server.pool.dropKey(k);
    this.server.connectionClosed(this);
  }

  abort(): void {
    if (this.tunnelAbort) {
      this.tunnelAbort();
      return;
    }
    this.gone();
  }

  idleTick(max: number): boolean {
    if (this.tunnelIdleTick) return this.tunnelIdleTick(max);
    if (this.state !== 'busy') return false;
    if (this.activity > 0 || (this.exchange && this.exchange.activity > 0)) {
      this.activity = 0;
      if (this.exchange) this.exchange.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    if (++this.idleChecks < max) return false;
    this.exchange?.idleTimeout();
    return true;
  }
}
