/**
 * FTP over HTTP (g3's FtpOverHttp task): an HTTP proxy client asks for an `ftp://[user[:pass]@]host[:port]/path`
 * URL and the proxy speaks FTP to the server on its behalf.
 *
 *   GET     a file → its bytes (Content-Length from SIZE); a directory, a path ending in `/` or `;type=d`, or a
 *           path whose SIZE is unknown → the server's LIST output as text/plain
 *   PUT     the request body → STOR, then 200 with an empty body
 *   DELETE  DELE for a file (RMD for a directory) → 200, 404 when it is not there
 *
 * Both the control and the passive data connections are opened through the server's escaper, so resolvers,
 * egress filters and routing apply to each. Statuses follow g3: 550 → 404, 421 → 503, failed login → 401 with
 * a Basic challenge, a broken FTP dialogue → 502, timeouts → 504, connect errors → the escaper's status.
 *
 * The exchange takes over from the ForwardExchange that found the `ftp` scheme: it adopts that task's slot
 * (one task counted, one log line, now of type FtpOverHttp) and stands in as the connection's exchange so
 * request-body bytes, drain and hang-up events reach it.
 */
import { isIP, type Socket } from 'node:net';
import { SluiceError, toSluiceError } from '@sluice/common';
import {
  ChunkedDecoder, CHUNK_CRLF, encodeChunkHeader, LAST_CHUNK, LengthDecoder, STATUS_TEXT,
  type AbsoluteTarget, type HttpParseError, type RequestHead,
} from '@sluice/protocol';
import type { AuthDenied } from '../../auth/server-auth.js';
import { DEFAULT_FTP_TIMEOUTS, FtpClient, type FtpConnector } from '../../ftp/client.js';
import { FtpError } from '../../ftp/control.js';
import { FtpOverHttpTask, type FtpConnNotes } from '../../task/ftp-task.js';
import type { HttpForwardTask } from '../../task/http-task.js';
import type { Upstream } from '../../task/task.js';
import type { HttpProxyConnection } from './connection.js';
import type { ForwardExchange } from './forward.js';
import { errorResponse } from '../http/responses.js';
import { Cancel } from '../../runtime/cancel.js';

/** What the URL path asks for (g3's FtpRequestPath). */
export interface FtpRequestPath {
  kind: 'default' | 'list' | 'file' | 'auto';
  /** decoded path sent to the server; relative to the login directory unless it starts with `%2F` */
  path: string;
}

class ClientRequestError extends Error {
  constructor(readonly status: 400 | 501, message: string) {
    super(message);
  }
}

/**
 * The FTP path of a request path: leading slashes dropped (the path is relative to the login directory, RFC
 * 1738), each segment percent-decoded (`%2F` makes it absolute), `;type=a|i|d` honoured, a trailing `/` meaning
 * "list". Decoded CR, LF or NUL would split an FTP command line, so they are refused.
 */
export function parseFtpPath(requestPath: string): FtpRequestPath {
  const q = requestPath.indexOf('?');
  const raw = q >= 0 ? requestPath.slice(0, q) : requestPath;
  const semi = raw.indexOf(';');
  const pathPart = semi >= 0 ? raw.slice(0, semi) : raw;
  const param = semi >= 0 ? raw.slice(semi + 1).toLowerCase() : '';
  const segs = pathPart.split('/');
  let first = 0;
  while (first < segs.length && segs[first] === '') first++;
  const decoded: string[] = [];
  for (let i = first; i < segs.length; i++) {
    let s: string;
    try {
      s = decodeURIComponent(segs[i]!);
    } catch {
      throw new ClientRequestError(400, 'invalid percent-encoding in ftp path');
    }
    if (/[\r\n\0]/.test(s)) throw new ClientRequestError(400, 'control character in ftp path');
    // a lone `%2F` segment stands for the root: it joins as the leading '/' of an absolute path
    decoded.push(s === '/' ? '' : s);
  }
  const path = decoded.join('/');
  if (path === '') return { kind: 'default', path: '.' };
  if (param === 'type=a' || param === 'type=i') return { kind: 'file', path };
  if (param === 'type=d') return { kind: 'list', path };
  if (path.endsWith('/')) return { kind: 'list', path: path.slice(0, -1) };
  return { kind: 'auto', path };
}

function decodeCredential(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ClientRequestError(400, 'invalid percent-encoding in ftp credentials');
  }
}

/** FTP user and password: from the URL's userinfo, overridden by `Authorization: Basic` (as g3 does). */
export function ftpCredentials(userinfo: string | undefined, authorization: string | undefined): { user?: string; pass?: string } {
  const out: { user?: string; pass?: string } = {};
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      out.user = decodeCredential(userinfo.slice(0, colon));
      out.pass = decodeCredential(userinfo.slice(colon + 1));
    } else out.user = decodeCredential(userinfo);
  }
  if (authorization !== undefined) {
    const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    if (m) {
      const text = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon >= 0) {
        out.user = text.slice(0, colon);
        out.pass = text.slice(colon + 1);
      }
    }
  }
  for (const v of [out.user, out.pass]) {
    if (v !== undefined && /[\r\n\0]/.test(v)) throw new ClientRequestError(400, 'control character in ftp credentials');
  }
  return out;
}

/** Start FTP over HTTP for a request the forward exchange recognised as `ftp://`. */
export function runFtpOverHttp(conn: HttpProxyConnection, req: RequestHead, target: AbsoluteTarget, replaced: HttpForwardTask): Promise<void> {
  const ex = new FtpOverHttpExchange(conn, req, target, replaced);
  // The connection only needs the exchange surface (client data, drain, hang-up, idle); see the class comment.
  conn.exchange = ex as unknown as ForwardExchange;
  return ex.run();
}

type Phase = 'setup' | 'transfer' | 'done';

class FtpOverHttpExchange {
  readonly task: FtpOverHttpTask;
  activity = 0;
  private phase: Phase = 'setup';
  private readonly abort = new Cancel();
  private ftp: FtpClient | null = null;
  private data: Socket | null = null;
  private bodyDecoder: ChunkedDecoder | LengthDecoder | null = null;
  private bodyDone: boolean;
  private onBodyDone: (() => void) | null = null;
  private keepHead = false;
  private chunkedReply = false;

  constructor(private readonly conn: HttpProxyConnection, private readonly req: RequestHead, private readonly target: AbsoluteTarget, replaced: HttpForwardTask) {
    const server = conn.server;
    const task = new FtpOverHttpTask('FtpOverHttp', server.name, server.logName, conn.info.clientAddr, conn.info.serverAddr);
    // take over the forward task's slot: it was counted as alive and must not log a line of its own
    replaced.finished = true;
    task.events = replaced.events;
    task.method = replaced.method;
    task.uri = replaced.uri;
    task.userAgent = replaced.userAgent;
    task.cRdBytes = replaced.cRdBytes;
    task.upstream = { host: target.host, port: target.port, ipFamily: target.hostKind === 'ipv4' ? 4 : target.hostKind === 'ipv6' ? 6 : 0 };
    this.task = task;
    this.bodyDone = req.bodyKind === 'none';
  }

  // ---- the exchange surface the connection calls --------------------------------------------------------------

  get wantsClientData(): boolean {
    return this.bodyDecoder !== null && !this.bodyDone;
  }

  onClientData(chunk: Buffer): void {
    const dec = this.bodyDecoder;
    if (!dec || this.bodyDone || !this.data) {
      this.conn.requeue(chunk);
      return;
    }
    this.activity++;
    this.task.cRdBytes += chunk.length;
    this.conn.server.stats.inBytes += chunk.length;
    let end: number;
    try {
      end = dec.push(chunk, this.writeUpload);
    } catch (e) {
      this.abortTransfer(new ClientRequestError(400, `bad request body: ${(e as HttpParseError).detail ?? (e as Error).message}`));
      return;
    }
    if (end < 0) return;
    if (end < chunk.length) {
      this.task.cRdBytes -= chunk.length - end;
      this.conn.requeue(chunk.subarray(end));
    }
    this.bodyDone = true;
    this.onBodyDone?.();
  }

  private readonly writeUpload = (piece: Buffer): void => {
    if (piece.length === 0) return;
    this.task.ftpDWrBytes += piece.length;
    if (!this.data!.write(piece)) this.conn.socket.pause();
  };

  onClientDrain(): void {
    this.data?.resume();
  }

  clientGone(): void {
    if (this.phase === 'done') return;
    const err = new SluiceError(this.keepHead ? 'CLIENT_CLOSED' : 'CLIENT_CLOSED_EARLY', 'client closed the connection');
    this.phase = 'done';
    this.abort.abort();
    this.teardown(false);
    this.task.error = err;
    this.conn.server.endTask(this.task);
  }

  idleTimeout(): void {
    this.abortTransfer(new SluiceError('CLIENT_IDLE', 'no traffic for too long'));
  }

  // ---- the request --------------------------------------------------------------------------------------------

  async run(): Promise<void> {
    try {
      await this.serve();
    } catch (e) {
      this.failed(e);
    }
  }

  private async serve(): Promise<void> {
    const { req, task, conn } = this;
    // proxy authentication first, as for every other request: an unauthenticated client reaches no FTP server
    if (conn.server.config.auth.userGroup) {
      const refused = await conn.server.authorize(conn, req, task, 'FtpOverHttp', task.upstream!);
      if (this.phase === 'done') return;
      if (refused) return this.refusedByAuth(refused);
      conn.authPassed();
    }
    const denied = conn.server.checkDestination(task.upstream!);
    if (denied) throw denied;
    const method = req.method;
    if (method !== 'GET' && method !== 'PUT' && method !== 'DELETE') throw new ClientRequestError(501, `method ${method} is not supported for ftp`);
    const path = parseFtpPath(this.target.path);
    let authorization: string | undefined;
    let range = false;
    for (const h of req.headers) {
      if (h.lname === 'authorization') authorization = h.value;
      else if (h.lname === 'range') range = true;
    }
    const creds = ftpCredentials(this.target.userinfo, authorization);
    if (method === 'PUT') {
      if (range) throw new ClientRequestError(400, 'Range is not allowed in an ftp PUT request');
      if (req.bodyKind === 'none') throw new ClientRequestError(400, 'no body found in ftp PUT request');
      if (path.kind === 'default' || path.kind === 'list') throw new ClientRequestError(400, 'a file path is required in ftp PUT request');
    } else if (req.bodyKind !== 'none') throw new ClientRequestError(400, `http body is not allowed in ftp ${method} request`);
    if (method === 'DELETE' && path.kind === 'default') throw new ClientRequestError(400, 'path is required in ftp DELETE request');

    const ftp = await this.connect();
    try {
      await ftp.login(creds.user, creds.pass);
    } catch (e) {
      if (e instanceof FtpError && e.kind === 'not-logged-in') {
        const who = creds.user !== undefined ? `${encodeURIComponent(creds.user)}@` : '';
        const realm = `ftp://${who}${formatHostPort(task.upstream!)}`.replace(/["\\]/g, '');
        const err = new SluiceError('UPSTREAM_NOT_NEGOTIATED', `ftp login failed: ${e.message}`);
        return this.replyError(401, err, `WWW-Authenticate: Basic realm="${realm}"\r\n`);
      }
      throw e;
    }
    task.stage = 'LoggedIn';
    if (method === 'DELETE') return this.remove(ftp, path);
    if (method === 'PUT') return this.upload(ftp, path.path);
    if (path.kind === 'file' || path.kind === 'auto') {
      const facts = await ftp.facts(path.path);
      if (facts.type !== 'dir' && facts.size !== null) return this.download(ftp, path.path);
    }
    return this.list(ftp, path.kind === 'default' ? '' : path.path);
  }

  private refusedByAuth(refused: AuthDenied): void {
    const how = this.conn.authRefusal(refused);
    if (how === 'silent') {
      this.task.error = refused.error;
      return this.finish(false);
    }
    this.replyError(refused.status, refused.error, refused.headers, how === 'keep');
  }

  private async connect(): Promise<FtpClient> {
    const { task, conn } = this;
    const escaper = conn.server.escaper();
    task.escaper = escaper.name;
    task.stage = 'Connecting';
    task.markWait();
    conn.inflight = this.abort;
    const connector: FtpConnector = async (to, purpose, signal) => {
      const family = isIP(to.host);
      const up: Upstream = { host: to.host, port: to.port, ipFamily: family === 4 ? 4 : family === 6 ? 6 : 0 };
      const c = await escaper.tcpConnect(task, up, signal);
      // the escaper reports into the task's next_* fields; FtpOverHttp logs them per connection instead
      moveConnectFacts(task, purpose === 'control' ? task.ftpC : task.ftpD);
      if (this.phase === 'done') {
        c.socket.destroy();
        throw new SluiceError('CLIENT_CLOSED_EARLY', 'client went away');
      }
      return c.socket;
    };
    const ftp = await FtpClient.open({ host: task.upstream!.host, port: task.upstream!.port }, connector, DEFAULT_FTP_TIMEOUTS, this.abort.signal);
    this.ftp = ftp;
    task.stage = 'Connected';
    return ftp;
  }

  // ---- operations ---------------------------------------------------------------------------------------------

  private async remove(ftp: FtpClient, path: FtpRequestPath): Promise<void> {
    let dir = path.kind === 'list';
    if (path.kind === 'auto') {
      const facts = await ftp.facts(path.path);
      dir = !(facts.type !== 'dir' && facts.size !== null);
    }
    if (dir) await ftp.removeDir(path.path);
    else await ftp.deleteFile(path.path);
    this.task.stage = 'Replying';
    this.replyEmpty();
  }

  private async download(ftp: FtpClient, path: string): Promise<void> {
    const { data, size } = await ftp.startRetrieve(path);
    this.data = data;
    const headers = `Content-Type: application/octet-stream\r\n${size !== null ? `Content-Length: ${size}\r\n` : ''}`;
    // without a size the body is delimited by closing the connection
    this.sendHead(200, headers, size !== null && this.req.keepAlive, false);
    await this.receive(ftp, 'RETR', size);
  }

  private async list(ftp: FtpClient, path: string): Promise<void> {
    const data = await ftp.startList(path);
    this.data = data;
    const chunked = this.req.keepAlive && this.req.versionMinor === 1;
    this.sendHead(200, `Content-Type: text/plain; charset=utf-8\r\n${chunked ? 'Transfer-Encoding: chunked\r\n' : ''}`, chunked, chunked);
    await this.receive(ftp, 'LIST', null);
  }

  /**
   * Relay the data connection to the client until it ends and the server confirms the transfer (226/250). The
   * confirmation may come before or after the data connection closes; each waits for the other, bounded.
   */
  private async receive(ftp: FtpClient, what: 'RETR' | 'LIST', size: number | null): Promise<void> {
    const data = this.data!;
    this.phase = 'transfer';
    this.task.stage = 'Relaying';
    this.task.markReady();
    let copied = 0;
    const endReply = this.watchEndReply(ftp, what);
    await new Promise<void>((resolve, reject) => {
      data.on('data', (chunk: Buffer) => {
        this.activity++;
        this.task.ftpDRdBytes += chunk.length;
        copied += chunk.length;
        if (size !== null && copied > size) {
          reject(new FtpError('protocol', `the server sent more than the ${size} bytes SIZE announced`));
          return;
        }
        if (!this.writeBody(chunk)) data.pause();
      });
      data.once('end', () => resolve());
      data.once('error', (e) => reject(new FtpError('closed', `data connection failed: ${e.message}`)));
      data.once('close', () => reject(new FtpError('closed', 'data connection closed before its end')));
      this.transferFailed = reject;
      data.resume();
    });
    await endReply.settled();
    if (size !== null && copied !== size) throw new FtpError('protocol', `received ${copied} bytes, SIZE announced ${size}`);
    if (this.chunkedReply) this.writeClient(LAST_CHUNK);
    this.task.stage = 'Finished';
    this.finish(this.keepHead);
  }

  private async upload(ftp: FtpClient, path: string): Promise<void> {
    const { req, conn } = this;
    const data = await ftp.startStore(path);
    this.data = data;
    this.phase = 'transfer';
    this.task.stage = 'Relaying';
    this.task.markReady();
    data.on('drain', () => conn.socket.resume());
    const endReply = this.watchEndReply(ftp, 'STOR');
    if (req.expectContinue) this.writeClient(CONTINUE);
    await new Promise<void>((resolve, reject) => {
      this.transferFailed = reject;
      data.once('error', (e) => reject(new FtpError('closed', `data connection failed: ${e.message}`)));
      data.once('close', () => {
        if (!this.bodyDone) reject(new FtpError('closed', 'data connection closed during the upload'));
      });
      this.onBodyDone = () => {
        data.end();
        resolve();
      };
      this.bodyDecoder = req.bodyKind === 'chunked' ? new ChunkedDecoder({ maxLineLength: this.conn.server.config.bodyLineMaxLength }) : new LengthDecoder(req.contentLength);
      // whatever arrived with the head or while the FTP dialogue ran is body
      const q = conn.takeQueued();
      for (let i = 0; i < q.length; i++) {
        if (this.bodyDone || this.phase === 'done') {
          conn.requeue(Buffer.concat(q.slice(i)));
          break;
        }
        this.onClientData(q[i]!);
      }
    });
    await endReply.settled();
    this.task.stage = 'Replying';
    this.replyEmpty();
  }

  // ---- end-of-transfer reply ----------------------------------------------------------------------------------

  private transferFailed: ((e: Error) => void) | null = null;

  /**
   * Read the transfer's final reply in the background: an error reply (or a lost control connection) aborts the
   * transfer at once; a success is remembered. `settled()` waits for it, bounded, once the data side is done.
   */
  private watchEndReply(ftp: FtpClient, what: string): { settled(): Promise<void> } {
    let outcome: Error | null | undefined; // undefined: not yet
    let notify: (() => void) | null = null;
    ftp.transferEnd(what, 0).then(
      () => {
        outcome = null;
        notify?.();
      },
      (e: Error) => {
        outcome = e;
        notify?.();
        this.transferFailed?.(e);
      },
    );
    return {
      settled: () => new Promise<void>((resolve, reject) => {
        const check = () => (outcome === null ? resolve() : outcome ? reject(outcome) : undefined);
        if (outcome !== undefined) return check();
        const t = setTimeout(() => reject(new FtpError('timeout', `no end-of-${what} reply within ${DEFAULT_FTP_TIMEOUTS.transferEndMs}ms`)), DEFAULT_FTP_TIMEOUTS.transferEndMs);
        t.unref();
        notify = () => {
          clearTimeout(t);
          check();
        };
      }),
    };
  }

  // ---- replies ------------------------------------------------------------------------------------------------

  private writeClient(b: Buffer): boolean {
    this.task.cWrBytes += b.length;
    this.conn.server.stats.outBytes += b.length;
    return this.conn.socket.write(b);
  }

  private writeBody(chunk: Buffer): boolean {
    if (!this.chunkedReply) return this.writeClient(chunk);
    this.writeClient(encodeChunkHeader(chunk.length));
    this.writeClient(chunk);
    return this.writeClient(CHUNK_CRLF);
  }

  private sendHead(status: number, headers: string, keep: boolean, chunked: boolean): void {
    const ka = keep && this.conn.server.online;
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\n${headers}`;
    if (!ka) head += 'Connection: close\r\n';
    else if (this.req.versionMinor === 0) head += 'Connection: keep-alive\r\n';
    this.keepHead = ka;
    this.chunkedReply = chunked;
    this.task.rspStatus = status;
    this.writeClient(Buffer.from(`${head}\r\n`, 'latin1'));
  }

  /** 200 with an empty body (PUT and DELETE). */
  private replyEmpty(): void {
    const keep = this.req.keepAlive && this.bodyDone;
    this.sendHead(200, 'Content-Length: 0\r\n', keep, false);
    this.task.stage = 'Finished';
    this.finish(this.keepHead);
  }

  private replyError(status: number, err: SluiceError | undefined, extraHeaders = '', keepIfPossible = false): void {
    if (this.phase === 'done') return;
    const keep = keepIfPossible && this.req.keepAlive && this.bodyDone && !this.keepHeadSent() && this.conn.server.online;
    if (!this.keepHeadSent()) {
      this.task.rspStatus = status;
      this.writeClient(errorResponse(status, !keep, extraHeaders));
    }
    this.task.error = err;
    this.finish(keep);
  }

  /** Whether a response head already went out (then only cutting the connection can signal an error). */
  private keepHeadSent(): boolean {
    return this.task.rspStatus !== undefined;
  }

  private failed(e: unknown): void {
    if (this.phase === 'done') return;
    if (this.keepHeadSent()) {
      // the response is under way: end the task with the error and cut the client off
      this.task.error = toTaskError(e);
      this.finish(false);
      this.conn.socket.destroy();
      return;
    }
    if (e instanceof ClientRequestError) {
      return this.replyError(e.status, new SluiceError(e.status === 501 ? 'CLIENT_PROTOCOL_UNIMPLEMENTED' : 'CLIENT_PROTOCOL_INVALID', e.message));
    }
    if (e instanceof FtpError) {
      // a missing file is an answer, not a failure (g3 logs it as Finished)
      if (e.kind === 'file-unavailable') return this.replyError(404, undefined, '', true);
      return this.replyError(statusOfFtpError(e), toTaskError(e));
    }
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    return this.replyError(err.httpStatus, err);
  }

  private abortTransfer(e: Error): void {
    if (this.phase === 'done') return;
    const reject = this.transferFailed;
    if (reject) reject(e);
    else this.failed(e);
  }

  // ---- teardown -----------------------------------------------------------------------------------------------

  private teardown(politeQuit: boolean): void {
    const ftp = this.ftp;
    if (ftp) {
      this.task.ftpCRdBytes = ftp.control.rdBytes;
      this.task.ftpCWrBytes = ftp.control.wrBytes;
      if (politeQuit) ftp.quit();
      else ftp.close();
      this.ftp = null;
    }
    this.data?.destroy();
    this.data = null;
  }

  private finish(keepClient: boolean): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    const quit = this.task.error === undefined;
    this.teardown(quit);
    if (this.conn.inflight === this.abort) this.conn.inflight = null;
    this.conn.server.endTask(this.task);
    // a request body the exchange never read makes the connection unusable for another request
    this.conn.exchangeDone(keepClient && this.bodyDone);
  }
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

function formatHostPort(u: Upstream): string {
  return u.ipFamily === 6 ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
}

function moveConnectFacts(task: FtpOverHttpTask, into: FtpConnNotes): void {
  into.boundAddr = task.nextBoundAddr;
  into.peerAddr = task.nextPeerAddr;
  into.connectTries = task.tcpConnectTries;
  into.connectSpend = task.tcpConnectSpend;
  task.nextBoundAddr = undefined;
  task.nextPeerAddr = undefined;
  task.tcpConnectTries = 0;
  task.tcpConnectSpend = undefined;
}

function statusOfFtpError(e: FtpError): number {
  switch (e.kind) {
    case 'unavailable': return 503;
    case 'timeout': return 504;
    default: return 502;
  }
}

function toTaskError(e: unknown): SluiceError {
  if (e instanceof SluiceError) return e;
  if (e instanceof FtpError) {
    switch (e.kind) {
      case 'unavailable': return new SluiceError('UPSTREAM_APP_UNAVAILABLE', e.message, { cause: e });
      case 'timeout': return new SluiceError('UPSTREAM_HEAD_TIMEOUT', e.message, { cause: e });
      default: return new SluiceError('UPSTREAM_NOT_NEGOTIATED', e.message, { cause: e });
    }
  }
  if (e instanceof ClientRequestError) return new SluiceError('CLIENT_PROTOCOL_INVALID', e.message);
  return toSluiceError(e, 'UPSTREAM_APP_ERROR');
}
