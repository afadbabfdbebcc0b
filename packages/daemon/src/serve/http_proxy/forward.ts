/**
 * One forwarded HTTP request (absolute-form `http://` or `https://` target): get an upstream connection from
 * the escaper (or reuse the kept one), send a rebuilt request head, stream the body with backpressure, read the
 * response head, send a rebuilt response head, stream the response body, and decide what stays alive.
 *
 * Heads are always rebuilt from parsed fields, never relayed as received; bodies are re-framed from decoded
 * data (chunked stays chunked with canonical chunk lines, Content-Length stays exact), so no framing ambiguity
 * the client sent can reach the upstream.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, toSluiceError, type TcpSpeedLimit } from '@sluice/common';
import {
  ChunkedDecoder, CHUNK_CRLF, encodeChunkHeader, HOP_BY_HOP, HttpParseError, LAST_CHUNK,
  LengthDecoder, parseAbsoluteTarget,
  type RequestHead, type ResponseHead,
} from '@sluice/protocol';
import type { AuthDenied } from '../../auth/server-auth.js';
import type { HttpForwardConnection } from '../../escape/types.js';
import { HttpForwardTask } from '../../task/http-task.js';
import type { Upstream } from '../../task/task.js';
import { finalResponseHead } from '../http/response-head.js';
import { ResponseRelay, type ResponseRelayHost } from '../http/response-relay.js';
import { UntrustedDrain } from '../http/untrusted-drain.js';
import type { HttpProxyConnection } from './connection.js';
import { errorResponse, ipOfAddr, remoteConnectionInfo } from '../http/responses.js';
import { localTarget } from './well-known.js';
import { runFtpOverHttp } from './ftp.js';
import { Cancel } from '../../runtime/cancel.js';

type Decoder = ChunkedDecoder | LengthDecoder;
/** `draining`: a request refused by authentication whose body is read and dropped (untrusted read) */
type Phase = 'preparing' | 'connecting' | 'sending' | 'waiting' | 'relaying' | 'draining' | 'done';

const escaperIds = new WeakMap<object, number>();
let nextEscaperId = 1;
/** A number per escaper config object (each reload parses a new, frozen one). */
function escaperInstanceId(e: object): number {
  let id = escaperIds.get(e);
  if (id === undefined) {
    id = nextEscaperId++;
    escaperIds.set(e, id);
  }
  return id;
}

const discard = (): void => {};

/** upstream reads up to this size are written to the client corked (one writev) */
const SMALL_READ = 8192;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The URI as logged: truncated, and a password in userinfo replaced by `xyz` (g3's convention). */
export function loggedUri(target: string, max: number): string {
  let uri = target;
  const at = uri.indexOf('@');
  if (at > 0) {
    const schemeEnd = uri.indexOf('://');
    const colon = uri.indexOf(':', schemeEnd + 3);
    if (schemeEnd > 0 && colon > 0 && colon < at) uri = `${uri.slice(0, colon + 1)}xyz${uri.slice(at)}`;
  }
  return uri.length > max ? uri.slice(0, max) : uri;
}

/** Whether the authority of an absolute-form target carries a port (`http://h:8080/...`). */
function hasExplicitPort(target: string): boolean {
  const start = target.indexOf('://') + 3;
  let end = start;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  const at = target.lastIndexOf('@', end);
  const hostStart = at >= start ? at + 1 : start;
  const colon = target.lastIndexOf(':', end);
  const bracket = target.lastIndexOf(']', end);
  return colon > hostStart && colon > bracket && colon < end - 1;
}

export class ForwardExchange implements ResponseRelayHost {
  readonly task: HttpForwardTask;
  private phase: Phase = 'preparing';
  private readonly abort = new Cancel();
  private up: HttpForwardConnection | null = null;
  private upKey = '';
  private upShared = false;
  private reqDecoder: Decoder | null = null;
  private reqBodyDone = false;
  /** the response half, for the current upstream connection */
  private relay: ResponseRelay | null = null;
  private clientWritten = false;
  private rspTimer: NodeJS.Timeout | undefined;
  private retried = false;
  activity = 0;
  private upstream: Upstream | null = null;
  private path = '/';
  private authority = '';
  private https = false;
  /** untrusted_read_speed_limit while a refused request's body is read to nothing */
  private drain: UntrustedDrain | null = null;

  constructor(private readonly conn: HttpProxyConnection, private readonly req: RequestHead, headBytes: number) {
    this.task = conn.server.newHttpTask(conn);
    this.task.method = req.method;
    this.task.uri = loggedUri(req.target, conn.server.config.logUriMaxChars);
    this.task.cRdBytes = headBytes;
    this.task.pipelineWait = performance.now() - conn.readySince;
    for (const h of req.headers) if (h.lname === 'user-agent') this.task.userAgent = h.value;
  }

  /** What the response relay needs of this exchange. */

  get wantsClientData(): boolean {
    return this.phase === 'sending' || this.phase === 'waiting' || this.phase === 'relaying' || this.phase === 'draining'
      ? !this.reqBodyDone
      : false;
  }

  async run(): Promise<void> {
    const { conn, req, task } = this;
    const cfg = conn.server.config;
    let targetText = req.target;
    const local = localTarget(req, cfg.localServerNames);
    if (local) {
      if ('status' in local) return this.fail(new SluiceError(local.status === 501 ? 'CLIENT_PROTOCOL_UNIMPLEMENTED' : 'CLIENT_PROTOCOL_INVALID', local.error), local.status);
      targetText = local.target;
    }
    let target;
    try {
      target = parseAbsoluteTarget(targetText);
    } catch (e) {
      return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `bad request target: ${(e as Error).message}`), 400);
    }
    if (!target) {
      return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `not a proxy request (target '${req.target.slice(0, 64)}')`), 400);
    }
    const badPath = conn.server.selectEgressPath(req, task);
    if (badPath) return this.fail(badPath, 400);
    if (target.scheme === 'ftp') return runFtpOverHttp(conn, req, target, task);
    this.https = target.scheme === 'https';
    this.path = target.path;
    const defaultPort = this.https ? 443 : 80;
    const hostText = target.host.includes(':') ? `[${target.host}]` : target.host;
    // Host names the origin as the URI did: with the port only if the URI wrote one (or drop it if default).
    const keepPort = hasExplicitPort(targetText) && !(cfg.dropDefaultPort && target.port === defaultPort);
    this.authority = keepPort ? `${hostText}:${target.port}` : hostText;
    if (!cfg.allowCustomHost && req.host !== undefined) {
      const h = req.host.toLowerCase();
      if (h !== this.authority.toLowerCase() && h !== `${hostText}:${target.port}`.toLowerCase() && h !== hostText.toLowerCase()) {
        return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `Host header '${req.host}' differs from the request target`), 400);
      }
    }
    const upstream: Upstream = { host: target.host, port: target.port, ipFamily: target.hostKind === 'ipv4' ? 4 : target.hostKind === 'ipv6' ? 6 : 0 };
    this.upstream = upstream;
    task.upstream = upstream;
    if (req.bodyKind === 'chunked') this.reqDecoder = new ChunkedDecoder({ maxLineLength: cfg.bodyLineMaxLength });
    else if (req.bodyKind === 'length' && req.contentLength > 0) this.reqDecoder = new LengthDecoder(req.contentLength);
    else this.reqBodyDone = true;
    if (cfg.auth.userGroup) {
      // a keep-alive request with already verified credentials is answered synchronously: no await, no microtask
      const pending = conn.server.authorize(conn, req, task, this.https ? 'HttpsForward' : 'HttpForward', upstream);
      const refused = pending instanceof Promise ? await pending : pending;
      if (this.phase === 'done') return this.endAsClientGone(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during authentication'));
      if (refused) return this.refusedByAuth(refused);
      conn.authPassed();
    }
    // after authentication, as g3: an unauthenticated client learns nothing of the server's filters
    const denied = conn.server.checkDestination(upstream);
    if (denied) return this.fail(denied, 403);
    await this.connectAndSend();
  }

  private async connectAndSend(forceNew = false): Promise<void> {
    const { conn, task } = this;
    const escaper = conn.server.escaper();
    task.escaper = escaper.name;
    // Kept connections are shared by all clients only where the escaper's choice depends on the destination
    // alone (direct_fixed, and no user overrides — resolve, tcp_connect, socket options, keepalive — that would
    // make this user's connection differ); otherwise they stay with this client connection. The escaper's config
    // object is part of the key, so after a reload (in place or respawn) no connection made under the old config
    // is reused.
    const shared = escaper.config.type === 'direct_fixed' && task.userResolve === undefined;
    // a request that chose its egress path only reuses a connection made for the same choice
    const path = task.egressPath ? `|p${task.egressPath.selectNumberId(this.conn.server.config.escaper, 1 << 30) ?? ''}` : '';
    const key = `${escaperInstanceId(escaper.config)}|${shared ? '' : conn.id}|${this.https ? 's' : ''}|${this.upstream!.host}|${this.upstream!.port}${path}`;
    this.upKey = key;
    this.upShared = shared;
    const pooled = forceNew ? null : conn.server.pool.take(key);
    if (pooled) {
      // a reused connection is still a task of the escaper (its task.total counts requests, as a new one would)
      escaper.stats.taskTotal++;
      this.up = pooled;
      task.reuseConnection = true;
      task.nextPeerAddr = pooled.info.nextPeerAddr;
      task.nextBoundAddr = pooled.info.nextBoundAddr;
    } else {
      this.phase = 'connecting';
      task.stage = 'Connecting';
      task.markWait();
      conn.inflight = this.abort;
      try {
        this.up = await escaper.httpForwardConnect(task, this.upstream!, this.https ? conn.server.tlsClient() : null, this.abort.signal);
      } catch (e) {
        const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
        if (this.abort.signal.aborted || conn.state === 'closed') return this.endAsClientGone(err);
        return this.fail(err, err.httpStatus);
      }
      conn.inflight = null;
      if (this.abort.signal.aborted || conn.state === 'closed') {
        this.up.socket.destroy();
        return this.endAsClientGone(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during connect'));
      }
      task.stage = 'Connected';
    }
    this.attachUpstream(this.up.socket);
    // the head and the body bytes already here leave in one writev
    const upSocket = this.up.socket;
    upSocket.cork();
    this.sendHead();
    this.phase = 'sending';
    // the part of the body that arrived with the head or while connecting
    if (!this.reqBodyDone) {
      const q = conn.takeQueued();
      for (let i = 0; i < q.length; i++) {
        if (this.reqBodyDone) conn.requeue(Buffer.concat(q.slice(i)));
        if (this.reqBodyDone) break;
        this.onClientData(q[i]!);
      }
    }
    upSocket.uncork();
    if (this.reqBodyDone) this.requestSent();
  }

  private sendHead(): void {
    const { req, task } = this;
    const up = this.up!;
    const target = up.absoluteForm ? `${this.https ? 'https' : 'http'}://${this.authority}${this.path}` : this.path;
    let head = `${req.method} ${target} HTTP/1.1\r\nHost: ${this.authority}\r\n`;
    const tokens = req.connectionTokens;
    const steal = this.conn.server.config.stealForwardedFor;
    for (const h of req.headers) {
      const n = h.lname;
      if (HOP_BY_HOP.has(n) || n === 'host' || n === 'content-length' || n.startsWith('proxy-')) continue;
      if (tokens.length > 0 && tokens.includes(n)) continue;
      if (steal && (n === 'forwarded' || n === 'x-forwarded-for')) continue;
      if (n === this.conn.server.config.egressPathHeader) continue;
      head += `${h.name}: ${h.value}\r\n`;
    }
    if (req.bodyKind === 'chunked') head += 'Transfer-Encoding: chunked\r\n';
    else if (req.bodyKind === 'length') head += `Content-Length: ${req.contentLength}\r\n`;
    for (const [k, v] of up.extraHeaders) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    const buf = Buffer.from(head, 'latin1');
    task.rWrBytes += buf.length;
    up.socket.write(buf);
    task.durReqSendHdr = task.elapsed();
  }

  // ---- request body -------------------------------------------------------------------------------------------

  private readonly writeBody = (data: Buffer): void => {
    if (data.length === 0) return;
    const s = this.up!.socket;
    let ok: boolean;
    if (this.req.bodyKind === 'chunked') {
      s.cork();
      s.write(encodeChunkHeader(data.length));
      s.write(data);
      ok = s.write(CHUNK_CRLF);
      s.uncork();
      this.task.rWrBytes += data.length + 4 + data.length.toString(16).length;
    } else {
      ok = s.write(data);
      this.task.rWrBytes += data.length;
    }
    if (!ok) this.conn.socket.pause();
  };

  onClientData(chunk: Buffer): void {
    if (!this.reqDecoder || this.reqBodyDone) {
      this.conn.requeue(chunk);
      return;
    }
    this.task.cRdBytes += chunk.length;
    this.conn.server.stats.inBytes += chunk.length;
    const draining = this.phase === 'draining';
    if (draining) this.drain?.consume(chunk.length, this.conn.socket);
    let end: number;
    try {
      end = this.reqDecoder.push(chunk, draining ? discard : this.writeBody);
    } catch (e) {
      // broken request framing: nothing after this can be trusted
      const err = new SluiceError('CLIENT_PROTOCOL_INVALID', `bad request body: ${(e as HttpParseError).detail ?? (e as Error).message}`);
      if (draining) return this.drainDone(false);
      this.destroyUpstream();
      return this.fail(err, 400, true);
    }
    if (end < 0) return;
    if (end < chunk.length) {
      this.task.cRdBytes -= chunk.length - end;
      this.conn.requeue(chunk.subarray(end));
    }
    if (draining) {
      this.reqBodyDone = true;
      return this.drainDone(true);
    }
    if (this.req.bodyKind === 'chunked') {
      this.up!.socket.write(LAST_CHUNK);
      this.task.rWrBytes += LAST_CHUNK.length;
    }
    this.reqBodyDone = true;
    if (this.phase === 'sending') this.requestSent();
  }

  private requestSent(): void {
    this.task.durReqSendAll = this.task.elapsed();
    if (this.phase === 'sending') {
      this.phase = 'waiting';
      this.task.stage = 'Relaying';
    }
    if (!this.rspTimer && !this.relay?.rsp) {
      // the user's (or its explicit site's) http_rsp_header_recv_timeout replaces the server's
      this.rspTimer = setTimeout(this.onResponseTimeout, this.task.userResolve?.httpRspHeadTimeoutMs ?? this.conn.server.config.rspHeadTimeoutMs);
      this.rspTimer.unref();
    }
  }

  // ---- response -----------------------------------------------------------------------------------------------

  private attachUpstream(s: Socket): void {
    const cfg = this.conn.server.config;
    this.relay = new ResponseRelay(this, { rspHeadMaxBytes: cfg.rspHeadMaxBytes, bodyLineMaxLength: cfg.bodyLineMaxLength });
    s.on('data', this.onUpstreamData);
    s.on('end', this.onUpstreamEnd);
    s.on('close', this.onUpstreamClose);
    s.on('drain', this.onUpstreamDrain);
    s.resume();
  }

  private detachUpstream(s: Socket): void {
    s.off('data', this.onUpstreamData);
    s.off('end', this.onUpstreamEnd);
    s.off('close', this.onUpstreamClose);
    s.off('drain', this.onUpstreamDrain);
  }

  private readonly onUpstreamDrain = (): void => {
    if (this.phase !== 'done') this.conn.resumeReading();
  };

  onClientDrain(): void {
    if (!this.conn.downThrottle?.blocked) this.up?.socket.resume();
  }

  /**
   * the upstream socket has more queued than it wants, or the untrusted read limit holds the client: either way
   * the upload throttle must not resume the client
   */
  get upstreamNeedsDrain(): boolean {
    return (this.up?.socket.writableNeedDrain ?? false) || (this.drain?.blocked ?? false);
  }

  /**
   * Everything one small upstream read produces for the client (response head, body, chunk framing) goes out in
   * one writev: corking saves a syscall per piece, the largest per-request cost on the keep-alive path.
   */
  private readonly onUpstreamData = (chunk: Buffer): void => {
    // Only small reads are corked: a corked write above the high-water mark makes the socket emit a real
    // 'drain' later, which would resume the upstream behind the back of a user speed limit (auth/speed-limit)
    if (chunk.length > SMALL_READ) return this.handleUpstreamData(chunk);
    const client = this.conn.socket;
    client.cork();
    this.handleUpstreamData(chunk);
    client.uncork();
  };

  private handleUpstreamData(chunk: Buffer): void {
    this.activity++;
    this.task.rRdBytes += chunk.length;
    const dt = this.conn.downThrottle;
    if (dt && this.up) dt.consume(chunk.length, this.up.socket);
    if (this.phase === 'done') return;
    this.relay!.push(chunk);
  }


  /**
   * g3's custom response headers: the chained-final ones (X-BD-Upstream-Id, -Addr, X-BD-Outgoing-IP) are set
   * only if a proxy nearer the origin did not set them; X-BD-Remote-Connection-Info is appended by every proxy.
   */
  private proxyInfoHeaders(rsp: ResponseHead): string {
    const cfg = this.conn.server.config;
    const info = this.up?.info;
    let has = 0; // 1: upstream-id, 2: upstream-addr, 4: outgoing-ip
    for (const h of rsp.headers) {
      if (h.lname === 'x-bd-upstream-id') has |= 1;
      else if (h.lname === 'x-bd-upstream-addr') has |= 2;
      else if (h.lname === 'x-bd-outgoing-ip') has |= 4;
    }
    let out = '';
    if (cfg.markUpstream && cfg.serverId !== undefined && !(has & 1)) out += `X-BD-Upstream-Id: ${cfg.serverId}\r\n`;
    if (cfg.echoChainedInfo) {
      if (!(has & 2) && info?.nextPeerAddr) out += `X-BD-Upstream-Addr: ${info.nextPeerAddr}\r\n`;
      if (!(has & 4) && info?.nextBoundAddr) out += `X-BD-Outgoing-IP: ${ipOfAddr(info.nextBoundAddr)}\r\n`;
    }
    if (cfg.serverId !== undefined) out += remoteConnectionInfo(cfg.serverId, info);
    return out;
  }

  // ---- what the response relay needs of this exchange (ResponseRelayHost) ----

  get request(): RequestHead {
    return this.req;
  }

  upstreamSocket(): Socket | null {
    return this.up?.socket ?? null;
  }

  /** called once, when the final head is in */
  finalHead(rsp: ResponseHead, chunkedOut: boolean): Buffer {
    clearTimeout(this.rspTimer);
    this.phase = 'relaying';
    const cfg = this.conn.server.config;
    const extra = cfg.serverId !== undefined || cfg.echoChainedInfo ? this.proxyInfoHeaders(rsp) : '';
    return finalResponseHead(rsp, extra, chunkedOut, this.keepClientAfter(), this.req.versionMinor === 0);
  }

  done(): void {
    this.responseDone();
  }

  failed(err: SluiceError, status: number): void {
    this.upstreamFailed(err, status);
  }

  readonly writeClient = (buf: Buffer): boolean => {
    this.clientWritten = true;
    this.task.cWrBytes += buf.length;
    this.conn.server.stats.outBytes += buf.length;
    return this.conn.socket.write(buf);
  };

  private readonly onUpstreamEnd = (): void => {
    if (this.phase === 'relaying' && this.relay!.upstreamEnded()) return;
    this.onUpstreamClose();
  };

  private readonly onUpstreamClose = (): void => {
    if (this.phase === 'done') return;
    if (this.phase === 'relaying') {
      return this.upstreamFailed(new SluiceError('UPSTREAM_CLOSED', 'upstream closed before the response body ended'), 502);
    }
    // A kept-alive connection the origin closed just as we reused it: retry once on a new one if that is safe.
    if (this.task.reuseConnection && !this.retried && this.task.rRdBytes === 0 && !this.clientWritten
        && IDEMPOTENT.has(this.req.method) && this.req.bodyKind === 'none') {
      this.retried = true;
      this.detachUpstream(this.up!.socket);
      this.up!.socket.destroy();
      this.up = null;
      clearTimeout(this.rspTimer);
      this.rspTimer = undefined;
      this.task.reuseConnection = false;
      this.phase = 'preparing';
      void this.connectAndSend(true);
      return;
    }
    this.upstreamFailed(new SluiceError('UPSTREAM_CLOSED', 'upstream closed before sending a response'), 502);
  };

  private readonly onResponseTimeout = (): void => {
    if (this.relay?.rsp || this.phase === 'done') return;
    this.upstreamFailed(new SluiceError('UPSTREAM_HEAD_TIMEOUT', 'upstream response head not received in time'), 504);
  };

  private keepClientAfter(): boolean {
    if (!this.req.keepAlive || !this.conn.server.online) return false;
    const relay = this.relay;
    if (relay?.rsp && relay.rsp.bodyKind === 'close' && !relay.chunkedOut) return false;
    return true;
  }

  private responseDone(): void {
    const { task, conn } = this;
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    task.durRspRecvAll = task.elapsed();
    task.stage = 'Finished';
    const up = this.up!;
    this.detachUpstream(up.socket);
    const cfg = conn.server.config;
    // the user's http_upstream_keepalive replaces the server's for this user's requests
    const userKa = task.userResolve?.httpUpstreamKeepalive;
    const rsp = this.relay!.rsp!;
    const reusable = (userKa ? userKa.enabled : cfg.upstreamKeepAlive.enable) && this.reqBodyDone && rsp.keepAlive && rsp.bodyKind !== 'close'
      && !up.socket.destroyed && conn.state !== 'closed';
    // a throttle pause must not travel with the socket into the pool
    if (conn.downThrottle?.blocked) conn.downThrottle.stop();
    if (!reusable || !conn.server.pool.put(this.upKey, up, userKa?.idleExpireMs)) up.socket.destroy();
    else if (!this.upShared) conn.ownPoolKey(this.upKey);
    this.up = null;
    conn.server.endTask(task);
    // If the client is still sending a body the origin did not wait for, the connection can't be reused.
    if (!this.reqBodyDone) {
      conn.exchangeDone(false);
      return;
    }
    conn.exchangeDone(this.keepClientAfter());
  }

  // ---- refused by authentication ---------------------------------------------------------------------------------

  /**
   * The auth step refused the request. A 407 for a request whose body is still coming normally closes the
   * connection (the body can't be skipped for free); with `untrusted_read_speed_limit` and no credentials in
   * the request, g3 answers 407 at once and reads the body to nothing at that rate, so that a client that
   * sends its whole body before looking at the response (some Java clients) can retry on the same connection.
   */
  private refusedByAuth(refused: AuthDenied): void {
    const { conn, req } = this;
    const how = conn.authRefusal(refused);
    if (how === 'silent') {
      this.phase = 'done';
      conn.exchange = null;
      return conn.failTask(this.task, refused.error, refused.status, true, '', true);
    }
    const limit = conn.server.config.untrustedReadLimit;
    if (how === 'keep' && refused.status === 407 && !this.reqBodyDone && limit && req.keepAlive
        && !req.headers.some((h) => h.lname === 'proxy-authorization')) {
      return this.drainUntrusted(refused, limit);
    }
    this.fail(refused.error, refused.status, how === 'close', refused.headers);
  }

  private drainUntrusted(refused: AuthDenied, limit: TcpSpeedLimit): void {
    const { conn, task } = this;
    task.error = refused.error;
    task.rspStatus = refused.status;
    this.writeClient(errorResponse(refused.status, false, refused.headers));
    this.phase = 'draining';
    task.stage = 'Relaying';
    const up = conn.upThrottle;
    this.drain = new UntrustedDrain(limit, () => !up?.blocked && conn.state !== 'closed');
    // body bytes that came with the head or during authentication
    const q = conn.takeQueued();
    for (let i = 0; i < q.length; i++) {
      if (this.phase !== 'draining') {
        conn.requeue(Buffer.concat(q.slice(i)));
        break;
      }
      this.onClientData(q[i]!);
    }
  }

  /**
   * The refused request's body was read to its end (or broke): the task ends with its auth error, once what
   * was read ahead is paid for at the limit.
   */
  private drainDone(ok: boolean): void {
    if (ok && this.drain && !this.drain.paidFor(this.onDrainPaid)) return;
    this.phase = 'done';
    this.drain?.stop();
    this.drain = null;
    this.conn.server.endTask(this.task);
    this.conn.exchangeDone(ok && this.req.keepAlive);
  }

  private readonly onDrainPaid = (): void => {
    if (this.phase === 'draining') this.drainDone(true);
  };

  // ---- failure paths --------------------------------------------------------------------------------------------

  private destroyUpstream(): void {
    if (this.up) {
      this.detachUpstream(this.up.socket);
      this.up.socket.destroy();
      this.up = null;
    }
  }

  private upstreamFailed(err: SluiceError, status: number): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    this.destroyUpstream();
    if (this.clientWritten) {
      // the response is half sent: the only honest signal left is to cut the client connection
      this.task.error = err;
      this.conn.server.endTask(this.task);
      this.conn.socket.destroy();
      return;
    }
    this.fail(err, status, true);
  }

  /** Answer with an error status (nothing sent yet) and end the task. */
  private fail(err: SluiceError, status: number, forceClose = false, extraHeaders = ''): void {
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    this.conn.exchange = null;
    // Keep the client connection only if the request body is fully read (or there was none).
    const close = forceClose || !this.reqBodyDone || !this.req.keepAlive;
    this.conn.failTask(this.task, err, status, close, extraHeaders);
  }

  private endAsClientGone(err: SluiceError): void {
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    this.destroyUpstream();
    this.task.error = err.code === 'CLIENT_CLOSED_EARLY' ? err : new SluiceError('CLIENT_CLOSED_EARLY', err.message, { cause: err });
    this.conn.server.endTask(this.task);
  }

  /** The client connection closed under us. */
  clientGone(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'draining') {
      // the task keeps its auth error: the client leaving is no news
      this.phase = 'done';
      this.drain?.stop();
      this.conn.server.endTask(this.task);
      return;
    }
    this.abort.abort();
    const wasConnecting = this.phase === 'connecting' || this.phase === 'preparing';
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    this.destroyUpstream();
    if (wasConnecting) return; // connectAndSend's catch ends the task
    this.task.error = new SluiceError(this.relay?.rsp ? 'CLIENT_CLOSED' : 'CLIENT_CLOSED_EARLY', 'client closed the connection');
    this.conn.server.endTask(this.task);
  }

  idleTimeout(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'draining') {
      this.drainDone(false);
      this.conn.socket.destroy();
      return;
    }
    this.upstreamFailed(new SluiceError('CLIENT_IDLE', 'no traffic for too long'), 504);
  }
}

