/**
 * One request through the reverse proxy: pick the site by Host, get an upstream connection (the client
 * connection's kept one for the same site, or a new one through the escaper, with TLS when the site has
 * `tls_client`), send a rebuilt head (the client's Host kept, hop-by-hop fields dropped, X-Forwarded-For or
 * Forwarded and Via added), pump the body re-framed, then relay the response the same way.
 *
 * Failures before the response head is sent become an error status (400 for a missing or unknown Host as g3
 * answers, 508 for a loop seen in Via, the escaper's 52x for connect errors, 502/504 for a broken or silent
 * upstream); after it, the client connection is cut, which is the only honest signal left.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SluiceError, toSluiceError, type TcpSpeedLimit } from '@sluice/common';
import {
  HOP_BY_HOP, parseAbsoluteTarget, parseHostHeader,
  type HttpParseError, type RequestHead, type ResponseHead,
} from '@sluice/protocol';
import type { AuthDenied } from '../../auth/server-auth.js';
import { User } from '../../auth/user.js';
import type { HttpForwardConnection } from '../../escape/types.js';
import { HttpForwardTask } from '../../task/http-task.js';
import { BodyPump } from '../http/body-pump.js';
import { forwardedLine, viaHasPseudonym } from '../http/forwarded.js';
import { errorResponse, remoteConnectionInfo } from '../http/responses.js';
import { finalResponseHead } from '../http/response-head.js';
import { ResponseRelay, type ResponseRelayHost } from '../http/response-relay.js';
import { UntrustedDrain } from '../http/untrusted-drain.js';
import type { RProxyConnection } from './connection.js';
import type { RProxySite } from './hosts.js';
import { Cancel } from '../../runtime/cancel.js';

/** `draining`: a request refused for its credentials whose body is read and dropped (untrusted read) */
type Phase = 'routing' | 'connecting' | 'sending' | 'relaying' | 'draining' | 'done';

/** A pooled upstream connection, reusable for the next request to the same site on the same client connection. */
export interface KeptUpstream {
  site: RProxySite;
  up: HttpForwardConnection;
}

function detail(e: unknown): string {
  return (e as HttpParseError).detail ?? (e as Error).message;
}

export class RProxyExchange implements ResponseRelayHost {
  readonly task: HttpForwardTask;
  activity = 0;
  private phase: Phase = 'routing';
  private readonly abort = new Cancel();
  private site: RProxySite | null = null;
  private up: HttpForwardConnection | null = null;
  private reqBody: BodyPump;
  /** the response half, for the current upstream connection */
  private relay: ResponseRelay | null = null;
  private rspTimer: NodeJS.Timeout | undefined;
  private pseudonym = '';
  /** untrusted_read_speed_limit while a refused request's body is read to nothing */
  private drain: UntrustedDrain | null = null;

  constructor(private readonly conn: RProxyConnection, private readonly req: RequestHead, headBytes: number) {
    const server = conn.server;
    const t = new HttpForwardTask('HttpForward', server.name, server.logName, conn.info.clientAddr, conn.info.serverAddr);
    server.beginTask(t);
    t.method = req.method;
    const max = server.config.logUriMaxChars;
    t.uri = req.target.length > max ? req.target.slice(0, max) : req.target;
    t.cRdBytes = headBytes;
    t.pipelineWait = performance.now() - conn.readySince;
    for (const h of req.headers) if (h.lname === 'user-agent') t.userAgent = h.value;
    this.task = t;
    this.reqBody = new BodyPump(req.bodyKind, req.contentLength, req.bodyKind === 'chunked', this.writeUpstream, { maxLineLength: server.config.bodyLineMaxLength });
  }


  /** (a getter, so the compiler does not narrow `phase` across awaits) */
  private get finished(): boolean {
    return this.phase === 'done';
  }

  get wantsClientData(): boolean {
    return (this.phase === 'sending' || this.phase === 'relaying' || this.phase === 'draining') && !this.reqBody.done;
  }

  async run(): Promise<void> {
    const { req, conn, task } = this;
    const cfg = conn.server.config;
    if (req.method === 'CONNECT') return this.fail(new SluiceError('CLIENT_PROTOCOL_UNIMPLEMENTED', 'CONNECT is not served by a reverse proxy'), 405);
    if (req.host === undefined) return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', 'request without Host'), 400);
    let host: string;
    try {
      const hp = parseHostHeader(req.host, conn.info.tls ? 443 : 80);
      host = hp.host;
      this.hostPort = hp.port;
      if (req.targetForm === 'absolute') {
        const t = parseAbsoluteTarget(req.target);
        if (t.scheme !== 'http' && t.scheme !== 'https') throw new Error(`scheme ${t.scheme} is not served`);
        if (t.host !== host) throw new Error('Host differs from the request target');
        this.path = t.path;
      } else if (req.targetForm === 'origin') this.path = req.target;
      else throw new Error(`${req.targetForm}-form target is not served`);
    } catch (e) {
      return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `bad request: ${detail(e)}`), 400);
    }
    this.pseudonym = cfg.serverId ?? host;
    for (const h of req.headers) {
      if (h.lname === 'via' && viaHasPseudonym(h.value, this.pseudonym)) {
        return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `loop detected: Via already names ${this.pseudonym}`), 508);
      }
    }
    // as g3: who the client is comes before which site it wants, so a client without credentials learns nothing
    if (cfg.auth.userGroup) {
      const refused = await this.authorize(host);
      if (this.finished) return;
      if (refused) return this.refusedByAuth(refused);
      conn.authPassed();
    }
    const site = cfg.hosts.get(host);
    if (!site) {
      // no_early_error_reply: g3 closes without a word on a request for a site it does not serve
      return this.fail(new SluiceError('CLIENT_PROTOCOL_INVALID', `no site for host '${host}'`), 400, false, cfg.noEarlyErrorReply);
    }
    this.site = site;
    task.upstream = { host: site.upstream.host, port: site.upstream.port, ipFamily: site.upstream.ipFamily };
    await this.connectAndSend();
  }

  private path = '/';
  /** the port the Host header names (or the scheme's default) */
  private hostPort = 80;

  // ---- authentication -----------------------------------------------------------------------------------------

  /**
   * Basic auth from `Authorization` against the server's user group; the requested site (Host) is the
   * destination the user's rules see. A reverse proxy challenges with 401 and `WWW-Authenticate`.
   */
  private async authorize(host: string): Promise<AuthDenied | null> {
    const { conn, req, task } = this;
    const cfg = conn.server.config;
    let authorization: string | undefined;
    for (const h of req.headers) if (h.lname === 'authorization') authorization ??= h.value;
    const r = await conn.server.authorize(task, {
      serverName: conn.server.name,
      requestType: 'HttpForward',
      clientIp: conn.info.clientIp,
      upstream: { host, port: this.hostPort, ipFamily: 0 },
      userAgent: task.userAgent,
      newConnection: conn.requestCount === 1,
      clientSocket: conn.socket,
      connection: conn,
      proxyAuthorization: authorization,
    });
    if (r instanceof User) return null;
    if (r.status !== 407) return r;
    return { error: r.error, status: 401, headers: wwwAuthenticate(cfg.auth.realm) };
  }

  /**
   * The auth step refused the request. As g3 (see http_proxy): silent close with no_early_error_reply, close
   * on a blocked user or a second failure in a row, and with untrusted_read_speed_limit a 401 for a request
   * without credentials whose body is then drained at that rate so the connection is kept.
   */
  private refusedByAuth(refused: AuthDenied): void {
    const { conn, req } = this;
    const how = conn.authRefusal(refused);
    if (how === 'silent') return this.fail(refused.error, refused.status, true, true);
    const limit = conn.server.config.untrustedReadLimit;
    if (how === 'keep' && refused.status === 401 && !this.reqBody.done && limit && req.keepAlive
        && !req.headers.some((h) => h.lname === 'authorization')) {
      return this.drainUntrusted(refused, limit);
    }
    this.fail(refused.error, refused.status, how === 'close', false, refused.headers);
  }

  private drainUntrusted(refused: AuthDenied, limit: TcpSpeedLimit): void {
    const { conn, task } = this;
    task.error = refused.error;
    task.rspStatus = refused.status;
    this.writeClient(errorResponse(refused.status, false, refused.headers));
    this.phase = 'draining';
    this.reqBody = new BodyPump(this.req.bodyKind, this.req.contentLength, false, () => true, { maxLineLength: conn.server.config.bodyLineMaxLength });
    this.drain = new UntrustedDrain(limit, () => conn.state !== 'closed');
    for (const piece of conn.takeQueued()) {
      if (this.phase === 'draining' && !this.reqBody.done) this.onClientData(piece);
      else conn.requeue(piece);
    }
  }

  /** The refused body is read (or broke); bytes read ahead are paid for at the limit before the next request. */
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

  private async connectAndSend(): Promise<void> {
    const { conn, task } = this;
    const site = this.site!;
    const escaper = conn.server.escaper();
    task.escaper = escaper.name;
    const kept = conn.takeKept(site);
    if (kept) {
      this.up = kept;
      task.reuseConnection = true;
      task.nextPeerAddr = kept.info.nextPeerAddr;
      task.nextBoundAddr = kept.info.nextBoundAddr;
    } else {
      this.phase = 'connecting';
      task.stage = 'Connecting';
      task.markWait();
      conn.inflight = this.abort;
      const tls = site.tlsClient
        ? { ...site.tlsClient.options, servername: site.tlsName, handshakeTimeoutMs: site.tlsClient.handshakeTimeoutMs }
        : null;
      try {
        this.up = await escaper.httpForwardConnect(task, task.upstream!, tls, this.abort.signal);
      } catch (e) {
        const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
        if (this.finished) return;
        return this.fail(err, err.httpStatus);
      }
      if (conn.inflight === this.abort) conn.inflight = null;
      if (this.finished) {
        this.up.socket.destroy();
        return;
      }
      task.stage = 'Connected';
    }
    this.phase = 'sending';
    this.attachUpstream(this.up.socket);
    this.sendHead();
    task.stage = 'Relaying';
    // body bytes that came with the head or while connecting
    if (!this.reqBody.done) for (const piece of conn.takeQueued()) this.onClientData(piece);
    if (this.reqBody.done) this.requestSent();
  }

  private sendHead(): void {
    const { req, conn, task } = this;
    const up = this.up!;
    const site = this.site!;
    const https = site.tlsClient !== undefined;
    const target = up.absoluteForm ? `${https ? 'https' : 'http'}://${formatAuthority(site)}${this.path}` : this.path;
    let head = `${req.method} ${target} HTTP/1.1\r\nHost: ${req.host}\r\n`;
    const tokens = req.connectionTokens;
    for (const h of req.headers) {
      const n = h.lname;
      if (HOP_BY_HOP.has(n) || n === 'host' || n === 'content-length' || (tokens.length > 0 && tokens.includes(n))) continue;
      // the gateway's own credentials are not the origin's business
      if (n === 'authorization' && conn.server.config.auth.userGroup) continue;
      head += `${h.name}: ${h.value}\r\n`;
    }
    const info = conn.info;
    head += forwardedLine(conn.server.config.forwarded, info.clientIp, info.clientAddr, info.serverAddr);
    head += `Via: HTTP/1.${req.versionMinor} ${this.pseudonym}\r\n`;
    if (req.bodyKind === 'chunked') head += 'Transfer-Encoding: chunked\r\n';
    else if (req.bodyKind === 'length') head += `Content-Length: ${req.contentLength}\r\n`;
    for (const [k, v] of up.extraHeaders) head += `${k}: ${v}\r\n`;
    const buf = Buffer.from(`${head}\r\n`, 'latin1');
    task.rWrBytes += buf.length;
    up.socket.write(buf);
    task.durReqSendHdr = task.elapsed();
  }

  // ---- request body -------------------------------------------------------------------------------------------

  private readonly writeUpstream = (b: Buffer): boolean => {
    this.task.rWrBytes += b.length;
    return this.up!.socket.write(b);
  };

  onClientData(chunk: Buffer): void {
    const draining = this.phase === 'draining';
    if ((!this.up && !draining) || this.reqBody.done) {
      this.conn.requeue(chunk);
      return;
    }
    this.activity++;
    this.task.cRdBytes += chunk.length;
    this.conn.server.stats.inBytes += chunk.length;
    if (draining) this.drain?.consume(chunk.length, this.conn.socket);
    let end: number;
    try {
      end = this.reqBody.push(chunk);
    } catch (e) {
      if (draining) return this.drainDone(false);
      return this.failUpstream(new SluiceError('CLIENT_PROTOCOL_INVALID', `bad request body: ${detail(e)}`), 400);
    }
    if (draining) {
      if (end < 0) return;
      if (end < chunk.length) {
        this.task.cRdBytes -= chunk.length - end;
        this.conn.requeue(chunk.subarray(end));
      }
      return this.drainDone(true);
    }
    if (!this.reqBody.flowing) {
      this.reqBody.flowing = true;
      this.conn.socket.pause();
    }
    if (end < 0) return;
    if (end < chunk.length) {
      this.task.cRdBytes -= chunk.length - end;
      this.conn.requeue(chunk.subarray(end));
    }
    this.requestSent();
  }

  private requestSent(): void {
    this.task.durReqSendAll = this.task.elapsed();
    if (!this.relay?.rsp && !this.rspTimer) {
      this.rspTimer = setTimeout(this.onResponseTimeout, this.conn.server.config.rspHeadTimeoutMs);
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
    if (this.phase !== 'done') this.conn.socket.resume();
  };

  onClientDrain(): void {
    if (!this.conn.downThrottle?.blocked) this.up?.socket.resume();
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
    const serverId = this.conn.server.config.serverId;
    const extra = serverId !== undefined ? remoteConnectionInfo(serverId, this.up!.info) : '';
    return finalResponseHead(rsp, extra, chunkedOut, this.keepClient(), this.req.versionMinor === 0);
  }

  done(): void {
    this.responseDone();
  }

  failed(err: SluiceError, status: number): void {
    this.failUpstream(err, status);
  }

  readonly writeClient = (b: Buffer): boolean => {
    this.task.cWrBytes += b.length;
    this.conn.server.stats.outBytes += b.length;
    return this.conn.socket.write(b);
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    this.activity++;
    this.task.rRdBytes += chunk.length;
    if (this.phase === 'done') return;
    const dt = this.conn.downThrottle;
    if (dt && this.up) dt.consume(chunk.length, this.up.socket);
    this.relay!.push(chunk);
  };

  private keepClient(): boolean {
    if (!this.req.keepAlive || !this.conn.server.online) return false;
    // a close-delimited body to an HTTP/1.0 client can only end by closing
    return !(this.relay?.rsp?.bodyKind === 'close' && !this.relay.chunkedOut);
  }

  private readonly onUpstreamEnd = (): void => {
    if (this.phase === 'relaying' && this.relay!.upstreamEnded()) return;
    this.onUpstreamClose();
  };

  private readonly onUpstreamClose = (): void => {
    if (this.phase === 'done') return;
    if (this.phase === 'relaying') return this.failUpstream(new SluiceError('UPSTREAM_CLOSED', 'upstream closed before the response ended'), 502);
    this.failUpstream(new SluiceError('UPSTREAM_CLOSED', 'upstream closed before sending a response'), 502);
  };

  private readonly onResponseTimeout = (): void => {
    if (this.relay?.rsp || this.phase === 'done') return;
    this.failUpstream(new SluiceError('UPSTREAM_HEAD_TIMEOUT', 'upstream response head not received in time'), 504);
  };

  private responseDone(): void {
    const { task, conn } = this;
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    task.durRspRecvAll = task.elapsed();
    task.stage = 'Finished';
    const up = this.up!;
    this.detachUpstream(up.socket);
    this.up = null;
    // a throttle pause must not come back to resume a kept (paused) upstream
    conn.downThrottle?.stop();
    const cfg = conn.server.config;
    if (cfg.upstreamKeepAlive.enable && this.reqBody.done && this.relay!.rsp!.keepAlive && this.relay!.rsp!.bodyKind !== 'close' && !up.socket.destroyed) {
      conn.keep({ site: this.site!, up });
    } else up.socket.destroy();
    conn.server.endTask(task);
    conn.exchangeDone(this.reqBody.done && this.keepClient());
  }

  // ---- failures -----------------------------------------------------------------------------------------------

  private failUpstream(err: SluiceError, status: number): void {
    if (this.phase === 'done') return;
    if (this.up) {
      this.detachUpstream(this.up.socket);
      this.up.socket.destroy();
      this.up = null;
    }
    if (this.relay?.headSent) {
      this.phase = 'done';
      clearTimeout(this.rspTimer);
      this.task.error = err;
      this.conn.server.endTask(this.task);
      this.conn.socket.destroy();
      return;
    }
    this.fail(err, status, true);
  }

  /** Answer with an error status (no response head sent yet; none at all when `silent`) and end the task. */
  private fail(err: SluiceError, status: number, forceClose = false, silent = false, extraHeaders = ''): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.rspTimer);
    if (this.conn.inflight === this.abort) this.conn.inflight = null;
    if (!silent) this.task.rspStatus = status;
    // keep the client only when the request is fully read and the error is about this request alone
    const close = silent || forceClose || !this.reqBody.done || !this.req.keepAlive || status === 400 || status === 405 || status === 508;
    this.conn.failTask(this.task, err, status, close, extraHeaders, silent);
  }

  clientGone(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'draining') {
      // the task keeps its auth error
      this.phase = 'done';
      this.drain?.stop();
      this.conn.server.endTask(this.task);
      return;
    }
    this.phase = 'done';
    this.abort.abort();
    clearTimeout(this.rspTimer);
    if (this.up) {
      this.detachUpstream(this.up.socket);
      this.up.socket.destroy();
      this.up = null;
    }
    this.task.error = new SluiceError(this.relay?.rsp ? 'CLIENT_CLOSED' : 'CLIENT_CLOSED_EARLY', 'client closed the connection');
    this.conn.server.endTask(this.task);
  }

  idleTimeout(): void {
    if (this.phase === 'draining') {
      this.drainDone(false);
      this.conn.socket.destroy();
      return;
    }
    this.failUpstream(new SluiceError('CLIENT_IDLE', 'no traffic for too long'), 504);
  }
}

const challenges = new Map<string, string>();

/** `WWW-Authenticate: Basic realm="..."` with its CRLF, built once per realm. */
function wwwAuthenticate(realm: string): string {
  let h = challenges.get(realm);
  if (!h) {
    h = `WWW-Authenticate: Basic realm="${realm.replace(/["\\\r\n]/g, '')}"\r\n`;
    if (challenges.size < 64) challenges.set(realm, h);
  }
  return h;
}

function formatAuthority(site: RProxySite): string {
  const u = site.upstream;
  return u.ipFamily === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}
