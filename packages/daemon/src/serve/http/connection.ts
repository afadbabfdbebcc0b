/**
 * The client side every HTTP/1 server shares (http_proxy, http_rproxy): reading request heads one at a time,
 * queueing what arrives while a request is served (bounded, with pipeline_size counted in heads) and replaying
 * it in order afterwards, the head and keep-alive timers, error answers for requests that fail before or
 * during their exchange, and teardown when the client goes. The socket keeps flowing while a request is
 * served so that a hang-up is seen at once and cancels an upstream connect.
 *
 * A subclass runs each parsed request (dispatch) and adds what its server keeps besides: upstreams kept for
 * the next request, tunnels.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, type ErrorCode } from '@sluice/common';
import { HeadReader, HttpParseError, parseRequestHead, type HttpLimits, type RequestHead } from '@sluice/protocol';
import type { AuthDenied } from '../../auth/server-auth.js';
import type { ReadThrottle } from '../../limit/socket-throttle.js';
import { HttpForwardTask } from '../../task/http-task.js';
import type { TaskContext } from '../../task/task.js';
import type { AliveWork } from '../base-server.js';
import { errorResponse } from './responses.js';
import type { ClientInfo } from '../types.js';
import { AuthFailureStreak, type AuthRefusal } from './auth-refusal.js';
import { Cancel } from '../../runtime/cancel.js';

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Bytes held for a busy connection before reading from the client pauses. */
const MAX_QUEUED_BYTES = 256 * 1024;

/** The error code of a request head refused with `status`. */
export function statusToCode(status: number): ErrorCode {
  switch (status) {
    case 431: return 'CLIENT_HEAD_TOO_LARGE';
    case 414: return 'CLIENT_URI_TOO_LONG';
    case 501: case 505: return 'CLIENT_PROTOCOL_UNIMPLEMENTED';
    default: return 'CLIENT_PROTOCOL_INVALID';
  }
}

/** One request being served, as the connection sees it. */
export interface HttpExchange {
  /** traffic seen since the last idle check */
  activity: number;
  /** true while client bytes are this exchange's request body (else they are queued) */
  readonly wantsClientData: boolean;
  onClientData(chunk: Buffer): void;
  onClientDrain(): void;
  clientGone(): void;
  idleTimeout(): void;
}

export interface HttpConnectionServer {
  readonly config: {
    readonly reqHeadMaxBytes: number;
    readonly pipelineSize: number;
    readonly keepAliveIdleMs: number;
    readonly reqHeadTimeoutMs: number;
    readonly noEarlyErrorReply: boolean;
  };
  readonly online: boolean;
  newHttpTask(c: { readonly info: ClientInfo }): HttpForwardTask;
  endTask(t: TaskContext): void;
}

export abstract class HttpConnection<S extends HttpConnectionServer, X extends HttpExchange> implements AliveWork {
  state: 'head' | 'busy' | 'tunnel' | 'closed' = 'head';
  /** the exchange currently served */
  exchange: X | null = null;
  /** aborts whatever is in flight (upstream connect, tunnel setup) when the client goes away */
  inflight: Cancel | null = null;
  /** time the connection became ready for the next request (pipeline_wait) */
  readySince = performance.now();
  /** requests read on this connection */
  requestCount = 0;
  readonly limits: HttpLimits;
  /** `tcp_sock_speed_limit` client → upstream, when the subclass charges client reads itself */
  readonly upThrottle: ReadThrottle | null = null;
  /** `tcp_sock_speed_limit` upstream → client: charged with upstream reads, pauses the upstream socket */
  readonly downThrottle: ReadThrottle | null = null;
  /** traffic seen since the last idle check (client reads) */
  protected activity = 0;
  private idleChecks = 0;
  private readonly reader: HeadReader;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** request heads waiting in the queue (counted by their blank line), for pipeline_size */
  private queuedHeads = 0;
  /** reading paused because the queue is full */
  protected paused = false;
  private headTimer: NodeJS.Timeout | undefined;
  private betweenRequests = false;
  private released = false;
  private readonly authStreak = new AuthFailureStreak();

  /** @param challengeStatus what this server answers for missing credentials (407 proxy, 401 origin) */
  constructor(readonly server: S, readonly socket: Socket, readonly info: ClientInfo, private readonly challengeStatus: 407 | 401) {
    this.limits = { maxHeadBytes: server.config.reqHeadMaxBytes, maxHeaderCount: 100, maxUriLength: 8192 };
    this.reader = new HeadReader(this.limits);
  }

  /** Run a request whose head was just read (state is 'busy', bytes after the head are queued). */
  protected abstract dispatch(head: RequestHead, rawHead: Buffer): void;

  /** Stop counting this connection as the server's alive work; called once. */
  protected abstract onReleased(): void;

  /** Close what the connection keeps for later requests (a kept upstream); the client is closing. */
  protected dropKeptUpstream(): void {}

  /** true while a relay owns the sockets (a CONNECT tunnel): the connection leaves teardown to it */
  protected get relayOwnsSockets(): boolean {
    return false;
  }

  get idle(): boolean {
    return this.state === 'head' && this.queuedBytes === 0 && this.reader.bufferedBytes === 0;
  }

  start(): void {
    const s = this.socket;
    s.setNoDelay(true);
    s.on('data', this.onData);
    s.on('end', this.onEnd);
    s.on('error', this.onGone);
    s.on('close', this.onGone);
    s.on('drain', this.onDrain);
    this.armHeadTimer(false);
    s.resume();
  }

  /**
   * Stop parsing what the client sends (its socket goes to a tunnel relay). Only this connection's own reader
   * is removed: a user's speed limit reads the same 'data' events from beneath (limit/socket-throttle.ts).
   */
  detachReader(): void {
    this.socket.off('data', this.onData);
  }

  /** Resume reading the client unless the speed limit holds it paused. */
  resumeReading(): void {
    if (!this.upThrottle?.blocked) this.socket.resume();
  }

  // ---- reading ----------------------------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    this.activity++;
    if (this.upThrottle) this.upThrottle.consume(chunk.length, this.socket);
    if (this.state === 'head') this.readHead(chunk);
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
    if (this.queueFull() && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  protected queueFull(): boolean {
    return this.queuedBytes > MAX_QUEUED_BYTES || this.queuedHeads >= this.server.config.pipelineSize;
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

  private readHead(chunk: Buffer): void {
    if (this.betweenRequests) this.armHeadTimer(false);
    let r: { head: Buffer; rest: Buffer | null } | null;
    try {
      r = this.reader.push(chunk);
    } catch (e) {
      return this.rejectRequest(e, null);
    }
    if (!r) return;
    clearTimeout(this.headTimer);
    this.reader.reset();
    let head: RequestHead;
    try {
      head = parseRequestHead(r.head, this.limits);
    } catch (e) {
      return this.rejectRequest(e, r.head);
    }
    this.state = 'busy';
    this.requestCount++;
    if (r.rest && r.rest.length > 0) this.requeue(r.rest);
    this.dispatch(head, r.head);
  }

  /** Answer a request that could not be parsed, log it as a task, and close: framing can't be trusted anymore. */
  private rejectRequest(e: unknown, rawHead: Buffer | null): void {
    const status = e instanceof HttpParseError ? e.status : 400;
    const detail = e instanceof HttpParseError ? e.detail : String((e as Error)?.message ?? e);
    const task = this.server.newHttpTask(this);
    if (rawHead) {
      // the method is worth logging even for a head that did not parse
      const sp = rawHead.indexOf(0x20);
      if (sp > 0 && sp < 32) task.method = rawHead.toString('latin1', 0, sp);
    }
    task.cRdBytes = rawHead?.length ?? 0;
    this.failTask(task, new SluiceError(statusToCode(status), `bad request: ${detail}`), status, true, '', this.hideEarlyError());
  }

  // ---- finishing a request --------------------------------------------------------------------------------

  /** The current exchange is over; keep the connection for the next request or close it. */
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
    this.readNext();
  }

  /** After the queue was replayed: read on (an exchange may have paused reading for upstream backpressure). */
  protected abstract readNext(): void;

  /**
   * End `task` with `err`: answer `status` (with `extraHeaders`) unless the socket is gone or `silent`, then
   * close the connection (`close`) or go on to the next request.
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

  /** A request passed authentication (later checks may still refuse it). */
  authPassed(): void {
    this.authStreak.passed();
  }

  /** How to answer a request the auth step refused (see AuthFailureStreak). */
  authRefusal(refused: AuthDenied): AuthRefusal {
    return this.authStreak.refused(refused, this.challengeStatus, this.server.config.noEarlyErrorReply);
  }

  /** no_early_error_reply: a connection that has not had a request read answers nothing (port hiding). */
  protected hideEarlyError(): boolean {
    return this.server.config.noEarlyErrorReply && this.requestCount === 0;
  }

  closeGracefully(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.dropKeptUpstream();
    this.socket.end();
    // A client that never reads our FIN's data must not hold the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  // ---- timers and teardown ----------------------------------------------------------------------------------

  private armHeadTimer(betweenRequests: boolean): void {
    clearTimeout(this.headTimer);
    this.betweenRequests = betweenRequests;
    const c = this.server.config;
    this.headTimer = setTimeout(this.onHeadTimeout, betweenRequests ? c.keepAliveIdleMs : c.reqHeadTimeoutMs);
    this.headTimer.unref();
  }

  private readonly onHeadTimeout = (): void => {
    if (this.state !== 'head') return;
    // an idle keep-alive connection simply goes away
    if (this.betweenRequests && this.reader.bufferedBytes === 0) return this.closeGracefully();
    const task = this.server.newHttpTask(this);
    this.failTask(task, new SluiceError('CLIENT_HEAD_TIMEOUT', 'request head not received in time'), 408, true, '', this.hideEarlyError());
  };

  private readonly onDrain = (): void => {
    this.exchange?.onClientDrain();
  };

  private readonly onEnd = (): void => {
    // A client that half-closes while idle is done; while a request is in flight it is treated as gone, which
    // also cancels a pending upstream connect.
    if (this.state === 'head' && this.reader.bufferedBytes === 0) return this.closeGracefully();
    this.gone();
  };

  private readonly onGone = (): void => this.gone();

  /** The client is gone: abort in-flight work, drop the kept upstream, stop tracking. */
  protected gone(): void {
    if (this.relayOwnsSockets) return;
    this.state = 'closed';
    clearTimeout(this.headTimer);
    this.inflight?.abort();
    this.exchange?.clientGone();
    this.exchange = null;
    this.dropKeptUpstream();
    this.upThrottle?.stop();
    this.downThrottle?.stop();
    this.socket.destroy();
    this.release();
  }

  /** Stop counting this connection as alive work (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.onReleased();
  }

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
