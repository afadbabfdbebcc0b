/**
 * HTTP/1.x interception inside a tunnel (g3proxy/src/inspect/http/v1): each request head is read and parsed,
 * sent on (rebuilt only when steal_forwarded_for removes headers), its body framed-relayed with backpressure,
 * then the response head and body come back the same way, and one HttpForward Intercept record is written per
 * exchange. Requests are handled one at a time in order; bytes of pipelined requests wait, unread beyond what
 * already arrived, until the response before them is complete. A CONNECT that gets a 2xx, or an Upgrade that
 * gets a 101, turns the connection into a new stream: the caller inspects it again one level deeper (websocket
 * upgrades go by websocket_inspect_policy).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, toSluiceError, type TaskReason } from '@sluice/common';
import { HeadReader, parseRequestHead, parseResponseHead, type HttpHeader, type RequestHead, type ResponseHead } from '@sluice/protocol';
import { formatDuration, formatTimestamp } from '../../log/format.js';
import { BodyPump } from '../../serve/http/body-pump.js';
import type { ServerStats } from '../../stat/server-stats.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { formatUpstream } from '../../task/task.js';
import { logIntercept, logUri, type InspectSource } from '../audit-log.js';
import type { StreamAuditor } from '../auditor/index.js';
import type { AuditorConfig } from '../auditor/config.js';

export interface H1Context {
  auditor: StreamAuditor;
  config: AuditorConfig;
  task: TaskContext;
  client: Socket;
  upstream: Socket;
  stats: ServerStats | null;
  /** the inspection depth of this HTTP/1 layer */
  depth: number;
  target: Upstream;
  /** URI length in the records: the task user's log_uri_max_chars, else the auditor's */
  logUriMaxChars: number;
}

export type H1Outcome =
  | { kind: 'end'; reason?: TaskReason; error?: SluiceError }
  /** relay what follows as is (a websocket bypassed or intercepted) */
  | { kind: 'relay'; clientRest: Buffer; upstreamRest: Buffer }
  /** a new stream starts (CONNECT, Upgrade): inspect it */
  | { kind: 'inspect'; clientRest: Buffer; upstreamRest: Buffer; source: InspectSource };

const EMPTY = Buffer.alloc(0);
const FORBIDDEN_WS = Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n', 'latin1');
/** how long a closing connection may take to flush the last response */
const LINGER_MS = 5000;

/** The request head as sent upstream: the received one, or rebuilt without the headers steal_forwarded_for drops. */
function requestHeadOut(req: RequestHead, raw: Buffer, steal: boolean): Buffer {
  if (!steal || !req.headers.some((h) => h.lname === 'forwarded' || h.lname === 'x-forwarded-for')) return raw;
  let s = `${req.method} ${req.target} HTTP/1.${req.versionMinor}\r\n`;
  for (const h of req.headers) if (h.lname !== 'forwarded' && h.lname !== 'x-forwarded-for') s += `${h.name}: ${h.value}\r\n`;
  return Buffer.from(s + '\r\n', 'latin1');
}

const header = (hs: readonly HttpHeader[], lname: string): string | undefined => hs.find((h) => h.lname === lname)?.value;

interface Exchange {
  id: number;
  req: RequestHead;
  isConnect: boolean;
  /** the upgrade protocol asked for (lowercase first token), when the request asks for one */
  upgrade: string | undefined;
  receivedWall: number;
  received: number;
  sendStart: number;
  sentHead: number;
  sentAll: number;
  rsp: ResponseHead | undefined;
  rspHead: number;
  rspAll: number;
}

export class H1Interceptor {
  private readonly reqReader: HeadReader;
  private readonly rspReader: HeadReader;
  private reqState: 'idle' | 'head' | 'body' | 'sent' = 'idle';
  private rspState: 'none' | 'head' | 'body' | 'done' = 'none';
  private reqPump: BodyPump | null = null;
  private rspPump: BodyPump | null = null;
  private ex: Exchange | null = null;
  private nextId = 0;
  /** client bytes read but not yet taken (the next pipelined request) */
  private cPending: Buffer = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private activity = 1;
  private idleChecks = 0;
  private clientEnded = false;
  private over = false;

  constructor(private readonly c: H1Context, private readonly onOutcome: (o: H1Outcome) => void) {
    const h1 = c.config.h1;
    this.reqReader = new HeadReader({ maxHeadBytes: h1.reqHeadMaxSize }, 'request');
    this.rspReader = new HeadReader({ maxHeadBytes: h1.rspHeadMaxSize }, 'response');
  }

  start(first: Buffer): void {
    const { client, upstream } = this.c;
    client.on('data', this.onClientData).on('end', this.onClientEnd).on('error', this.onClientError);
    upstream.on('data', this.onUpstreamData).on('end', this.onUpstreamEnd).on('error', this.onUpstreamError);
    upstream.on('drain', this.onUpstreamDrain);
    client.on('drain', this.onClientDrain);
    this.armIdle();
    if (first.length) {
      // read during inspection, counted here as the interceptor takes them
      this.c.task.cRdBytes += first.length;
      if (this.c.stats) this.c.stats.inBytes += first.length;
      this.takeClient(first);
    }
    if (!this.over) {
      if (this.reqState === 'idle' || this.reqState === 'head' || this.reqState === 'body') client.resume();
      upstream.resume();
    }
  }

  // ---- server hooks ----------------------------------------------------------------------------------------

  idleTick(maxCount: number): boolean {
    if (this.activity > 0) {
      this.activity = 0;
      this.idleChecks = 0;
      return false;
    }
    if (++this.idleChecks < (this.c.task.userResolve?.idleMaxCount ?? maxCount)) return false;
    this.finish({ kind: 'end', reason: 'Idle' });
    return true;
  }

  abort(): void {
    this.finish({ kind: 'end', reason: 'CanceledAsServerQuit' });
  }

  // ---- plumbing ------------------------------------------------------------------------------------------------

  private finish(o: H1Outcome): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.timer);
    const { client, upstream } = this.c;
    client.off('data', this.onClientData).off('end', this.onClientEnd).off('error', this.onClientError).off('drain', this.onClientDrain);
    upstream.off('data', this.onUpstreamData).off('end', this.onUpstreamEnd).off('error', this.onUpstreamError).off('drain', this.onUpstreamDrain);
    client.pause();
    upstream.pause();
    this.onOutcome(o);
  }

  private fail(e: unknown, code: 'CLIENT_PROTOCOL_INVALID' | 'UPSTREAM_PROTOCOL_INVALID'): void {
    this.finish({ kind: 'end', error: toSluiceError(e, code) });
  }

  /** Close both sides once what was written has gone out, then end the task with `reason`. */
  private closeGracefully(reason: TaskReason): void {
    if (this.over) return;
    const { client, upstream } = this.c;
    clearTimeout(this.timer);
    upstream.end();
    client.end();
    const done = () => this.finish({ kind: 'end', reason });
    if (client.writableFinished || client.destroyed) return done();
    client.once('finish', done).once('close', done);
    this.timer = setTimeout(done, LINGER_MS);
  }

  private toUpstream = (b: Buffer): boolean => {
    this.c.task.rWrBytes += b.length;
    return this.c.upstream.write(b);
  };

  private toClient = (b: Buffer): boolean => {
    this.c.task.cWrBytes += b.length;
    return this.c.client.write(b);
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.reqState === 'idle' || this.reqState === 'head' || this.reqState === 'body') this.c.client.resume();
  };

  private readonly onClientDrain = (): void => {
    this.c.upstream.resume();
  };

  private armIdle(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish({ kind: 'end', reason: 'Idle' }), this.c.config.h1.pipelineReadIdleTimeoutMs);
  }

  // ---- client side ----------------------------------------------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.activity++;
    this.c.task.cRdBytes += chunk.length;
    if (this.c.stats) this.c.stats.inBytes += chunk.length;
    this.takeClient(chunk);
  };

  private takeClient(chunk: Buffer): void {
    if (this.over) return;
    if (this.reqState === 'sent') {
      // the next request waits for the current response
      this.cPending = this.cPending.length ? Buffer.concat([this.cPending, chunk]) : chunk;
      this.c.client.pause();
      return;
    }
    if (this.reqState === 'body') return this.requestBody(chunk);
    this.requestHead(chunk);
  }

  private requestHead(chunk: Buffer): void {
    if (this.reqState === 'idle') {
      this.reqState = 'head';
      this.ex = {
        id: this.nextId++, req: undefined as unknown as RequestHead, isConnect: false, upgrade: undefined,
        receivedWall: Date.now(), received: performance.now(), sendStart: 0, sentHead: 0, sentAll: 0, rsp: undefined, rspHead: 0, rspAll: 0,
      };
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.finish({ kind: 'end', error: new SluiceError('CLIENT_HEAD_TIMEOUT', 'request head not received within req_header_recv_timeout') }),
        this.c.config.h1.reqHeadTimeoutMs);
    }
    let got;
    try {
      got = this.reqReader.push(chunk);
    } catch (e) {
      return this.fail(e, 'CLIENT_PROTOCOL_INVALID');
    }
    if (!got) return;
    clearTimeout(this.timer);
    const ex = this.ex!;
    let req: RequestHead;
    try {
      req = parseRequestHead(got.head, { maxHeadBytes: this.c.config.h1.reqHeadMaxSize, maxHeaderCount: 1000, maxUriLength: this.c.config.h1.reqHeadMaxSize });
    } catch (e) {
      return this.fail(e, 'CLIENT_PROTOCOL_INVALID');
    }
    ex.req = req;
    ex.isConnect = req.method === 'CONNECT';
    if (req.connectionTokens.includes('upgrade')) ex.upgrade = header(req.headers, 'upgrade')?.split(',')[0]!.trim().toLowerCase();
    if (ex.upgrade === 'websocket' && this.c.config.websocketPolicy.actionFor(this.c.target.host) === 'block') {
      this.toClient(FORBIDDEN_WS);
      ex.rsp = { status: 403 } as ResponseHead;
      this.logForward(ex, 'HttpUpgrade');
      return this.closeGracefully('ForbiddenByRule');
    }
    ex.sendStart = performance.now();
    const head = requestHeadOut(req, got.head, this.c.config.h1.stealForwardedFor);
    // a CONNECT or Upgrade request carries no body we could frame: what follows belongs to the next protocol
    const framing = ex.isConnect ? 'none' : req.bodyKind;
    this.reqPump = new BodyPump(framing, req.contentLength, framing === 'chunked', this.toUpstream, { maxLineLength: this.c.config.h1.bodyLineMaxLength, peer: 'request' });
    this.reqState = 'body';
    this.rspState = 'head';
    this.rspReader.reset();
    let end: number;
    try {
      end = this.reqPump.pushAfterHead(head, got.rest ?? EMPTY);
    } catch (e) {
      return this.fail(e, 'CLIENT_PROTOCOL_INVALID');
    }
    ex.sentHead = performance.now();
    this.afterRequestPush(end, got.rest ?? EMPTY);
    if (!this.over) this.armResponseTimer();
  }

  private requestBody(chunk: Buffer): void {
    let end: number;
    try {
      end = this.reqPump!.push(chunk);
    } catch (e) {
      return this.fail(e, 'CLIENT_PROTOCOL_INVALID');
    }
    this.afterRequestPush(end, chunk);
  }

  /** `end` as BodyPump.push returns it for `chunk`: -1 while the body goes on. */
  private afterRequestPush(end: number, chunk: Buffer): void {
    if (!this.reqPump!.flowing) {
      this.reqPump!.flowing = true;
      this.c.client.pause();
    }
    if (end < 0 && !this.reqPump!.done) return;
    this.reqState = 'sent';
    this.ex!.sentAll = performance.now();
    const rest = end >= 0 && end < chunk.length ? chunk.subarray(end) : EMPTY;
    if (rest.length) this.cPending = this.cPending.length ? Buffer.concat([this.cPending, rest]) : rest;
    this.c.client.pause();
    if (this.rspState === 'done') this.exchangeDone(EMPTY);
  }

  private readonly onClientEnd = (): void => {
    this.clientEnded = true;
    if (this.reqState === 'idle' && this.cPending.length === 0) return this.closeGracefully('ClosedByClient');
    if (this.reqState === 'head' || this.reqState === 'body') this.finish({ kind: 'end', reason: 'ClosedByClient' });
    // a request was sent whole: the response still goes back (clients may half-close after the request)
  };

  private readonly onClientError = (e: Error): void => {
    this.finish({ kind: 'end', error: new SluiceError('CLIENT_READ_FAILED', e.message) });
  };

  // ---- upstream side -------------------------------------------------------------------------------------------

  private armResponseTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish({ kind: 'end', error: new SluiceError('UPSTREAM_HEAD_TIMEOUT', 'response head not received within rsp_header_recv_timeout') }),
      // a user's (or its explicit site's) http_rsp_header_recv_timeout wins, as in g3
      this.c.task.userResolve?.httpRspHeadTimeoutMs ?? this.c.config.h1.rspHeadTimeoutMs);
  }

  private readonly onUpstreamData = (chunk: Buffer): void => {
    this.activity++;
    this.c.task.rRdBytes += chunk.length;
    if (this.c.stats) this.c.stats.outBytes += chunk.length;
    if (this.over) return;
    if (this.rspState === 'head') return this.responseHead(chunk);
    if (this.rspState === 'body') return this.responseBody(chunk);
    this.finish({ kind: 'end', error: new SluiceError('UPSTREAM_PROTOCOL_INVALID', 'upstream sent data with no request outstanding') });
  };

  private responseHead(chunk: Buffer): void {
    const ex = this.ex!;
    let got;
    try {
      got = this.rspReader.push(chunk);
    } catch (e) {
      return this.fail(e, 'UPSTREAM_PROTOCOL_INVALID');
    }
    if (!got) return;
    let rsp: ResponseHead;
    try {
      rsp = parseResponseHead(got.head, ex.req.method, { maxHeadBytes: this.c.config.h1.rspHeadMaxSize, maxHeaderCount: 1000, maxUriLength: 8192 });
    } catch (e) {
      return this.fail(e, 'UPSTREAM_PROTOCOL_INVALID');
    }
    const rest = got.rest ?? EMPTY;
    if (rsp.status >= 100 && rsp.status < 200 && rsp.status !== 101) {
      // interim responses (100 Continue, 103 Early Hints) go on; the final one follows
      this.toClient(got.head);
      this.rspReader.reset();
      if (rest.length) this.responseHead(rest);
      return;
    }
    clearTimeout(this.timer);
    ex.rsp = rsp;
    ex.rspHead = performance.now();
    if (rsp.status === 101 && ex.upgrade !== undefined) return this.upgraded(got.head, rest);
    if (ex.isConnect && rsp.status >= 200 && rsp.status < 300) {
      this.toClient(got.head);
      this.logConnect(ex);
      return this.finish({ kind: 'inspect', clientRest: this.cPending, upstreamRest: rest, source: 'stream inspection' });
    }
    this.rspPump = new BodyPump(rsp.bodyKind, rsp.contentLength, rsp.bodyKind === 'chunked', this.toClient, { maxLineLength: this.c.config.h1.bodyLineMaxLength, peer: 'response' });
    this.rspState = 'body';
    let end: number;
    try {
      end = this.rspPump.pushAfterHead(got.head, rest);
    } catch (e) {
      return this.fail(e, 'UPSTREAM_PROTOCOL_INVALID');
    }
    this.afterResponsePush(end, rest);
  }

  private responseBody(chunk: Buffer): void {
    let end: number;
    try {
      end = this.rspPump!.push(chunk);
    } catch (e) {
      return this.fail(e, 'UPSTREAM_PROTOCOL_INVALID');
    }
    this.afterResponsePush(end, chunk);
  }

  private afterResponsePush(end: number, chunk: Buffer): void {
    if (!this.rspPump!.flowing) {
      this.rspPump!.flowing = true;
      this.c.upstream.pause();
    }
    if (end < 0 && !this.rspPump!.done) return;
    this.rspState = 'done';
    this.ex!.rspAll = performance.now();
    const rest = end >= 0 && end < chunk.length ? chunk.subarray(end) : EMPTY;
    if (this.reqState === 'sent') this.exchangeDone(rest);
    else if (rest.length) this.fail(new SluiceError('UPSTREAM_PROTOCOL_INVALID', 'upstream sent data after a complete response'), 'UPSTREAM_PROTOCOL_INVALID');
    // else: the response ended before the request body: the rest of the request still goes up
  }

  private exchangeDone(upstreamRest: Buffer): void {
    const ex = this.ex!;
    const rsp = ex.rsp!;
    this.logForward(ex, 'HttpForward');
    if (upstreamRest.length) {
      return this.fail(new SluiceError('UPSTREAM_PROTOCOL_INVALID', 'upstream sent data after a complete response'), 'UPSTREAM_PROTOCOL_INVALID');
    }
    const keepAlive = ex.req.keepAlive && rsp.keepAlive && rsp.bodyKind !== 'close';
    if (!keepAlive) return this.closeGracefully(rsp.keepAlive && rsp.bodyKind !== 'close' ? 'ClosedByClient' : 'ClosedByUpstream');
    // ready for the next request
    this.ex = null;
    this.reqState = 'idle';
    this.rspState = 'none';
    this.reqReader.reset();
    this.armIdle();
    const pending = this.cPending;
    this.cPending = EMPTY;
    if (pending.length) this.takeClient(pending);
    if (this.over) return;
    const state = this.reqState as H1Interceptor['reqState'];
    if (this.clientEnded && state === 'idle') return this.closeGracefully('ClosedByClient');
    if (state !== 'sent') this.c.client.resume();
  }

  private upgraded(head: Buffer, rest: Buffer): void {
    const ex = this.ex!;
    this.toClient(head);
    this.logForward(ex, 'HttpUpgrade');
    if (ex.upgrade === 'websocket') {
      // intercept or bypass: the frames are relayed as they are; intercept writes the H1Websocket record
      if (this.c.config.websocketPolicy.actionFor(this.c.target.host) === 'intercept') {
        logIntercept(this.c.auditor, this.c.task, this.c.depth, 'H1Websocket', [
          ['upstream', formatUpstream(this.c.target)],
          ['ws_resource_name', logUri(ex.req.target, this.c.logUriMaxChars)],
          ['ws_origin', header(ex.req.headers, 'origin')],
          ['ws_sub_protocol', header(ex.rsp!.headers, 'sec-websocket-protocol')],
          ['ws_version', header(ex.req.headers, 'sec-websocket-version')],
        ]);
      }
      return this.finish({ kind: 'relay', clientRest: this.cPending, upstreamRest: rest });
    }
    this.finish({ kind: 'inspect', clientRest: this.cPending, upstreamRest: rest, source: 'http upgrade' });
  }

  private readonly onUpstreamEnd = (): void => {
    if (this.over) return;
    if (this.rspState === 'body' && this.rspPump!.framing === 'close') {
      this.rspPump!.end();
      this.rspState = 'done';
      this.ex!.rspAll = performance.now();
      this.logForward(this.ex!, 'HttpForward');
      return this.closeGracefully('ClosedByUpstream');
    }
    if (this.reqState === 'idle') return this.closeGracefully('ClosedByUpstream');
    this.finish({ kind: 'end', reason: 'ClosedByUpstream' });
  };

  private readonly onUpstreamError = (e: Error): void => {
    this.finish({ kind: 'end', error: new SluiceError('UPSTREAM_READ_FAILED', e.message) });
  };

  // ---- records --------------------------------------------------------------------------------------------------

  private dur(from: number, to: number): string | undefined {
    return to > 0 ? formatDuration(Math.max(0, to - from)) : undefined;
  }

  private logForward(ex: Exchange, type: 'HttpForward' | 'HttpUpgrade'): void {
    const status = ex.rsp?.status;
    const fields: Array<[string, string | number | boolean | undefined]> = [
      ['request_id', ex.id],
      ...(type === 'HttpUpgrade' ? [
        ['next_protocol', ex.upgrade] as [string, string | undefined],
        ['next_upstream', formatUpstream(this.c.target)] as [string, string],
      ] : []),
      ['received_at', formatTimestamp(ex.receivedWall)],
      ['method', ex.req.method],
      ['uri', logUri(ex.req.target, this.c.logUriMaxChars)],
      ['host', header(ex.req.headers, 'host')],
      ['rsp_status', status],
      ['origin_status', status],
      ['dur_req_send_hdr', this.dur(ex.received, ex.sentHead)],
      ['dur_req_pipeline', this.dur(ex.received, ex.sendStart)],
      ['dur_req_send_all', this.dur(ex.received, ex.sentAll)],
      ['dur_rsp_recv_hdr', this.dur(ex.received, ex.rspHead)],
      ['dur_rsp_recv_all', this.dur(ex.received, ex.rspAll)],
    ];
    logIntercept(this.c.auditor, this.c.task, this.c.depth, type, fields);
  }

  private logConnect(ex: Exchange): void {
    logIntercept(this.c.auditor, this.c.task, this.c.depth, 'HttpConnect', [
      ['request_id', ex.id],
      ['received_at', formatTimestamp(ex.receivedWall)],
      ['next_upstream', ex.req.target],
      ['rsp_status', ex.rsp?.status],
      ['origin_status', ex.rsp?.status],
      ['dur_req_send_hdr', this.dur(ex.received, ex.sentHead)],
      ['dur_rsp_recv_hdr', this.dur(ex.received, ex.rspHead)],
    ]);
  }
}
