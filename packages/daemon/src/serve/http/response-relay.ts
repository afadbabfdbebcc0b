/**
 * The response half of one HTTP/1 exchange, shared by the forward proxy and the reverse proxy: read the
 * upstream's response head (interim 1xx heads passed on to an HTTP/1.1 client), then pump the body re-framed to
 * the client, pausing the upstream while the client is full, until the body ends — by its framing, or by the
 * upstream closing for a close-delimited one.
 *
 * The exchange owns the sockets, the task's byte counters and what happens at the end; it hands upstream bytes
 * to `push()` and learns the outcome through its `ResponseRelayHost` callbacks, exactly one of `done()` or
 * `failed()` per response.
 */
import type { Socket } from 'node:net';
import { SluiceError } from '@sluice/common';
import { HeadReader, parseResponseHead, type HttpParseError, type RequestHead, type ResponseHead } from '@sluice/protocol';
import type { HttpForwardTask } from '../../task/http-task.js';
import { BodyPump } from './body-pump.js';
import { interimResponseHead } from './response-head.js';

export interface ResponseRelayHost {
  readonly task: HttpForwardTask;
  /** the request this response answers (HEAD has no body; an HTTP/1.0 client gets no interim heads) */
  readonly request: RequestHead;
  /** the upstream socket: paused while the client is full, destroyed when bytes follow the response */
  upstreamSocket(): Socket | null;
  /** writes to the client, counting the bytes; false on backpressure */
  writeClient(b: Buffer): boolean;
  /** the final response head to send, for a body written chunked or as-is */
  finalHead(rsp: ResponseHead, chunkedOut: boolean): Buffer;
  /** the response is complete; the upstream socket may be reusable */
  done(): void;
  /** the upstream broke the response */
  failed(err: SluiceError, status: number): void;
}

function detail(e: unknown): string {
  return (e as HttpParseError).detail ?? (e as Error).message;
}

export class ResponseRelay {
  private readonly reader: HeadReader;
  /** the final response head, once read */
  rsp: ResponseHead | null = null;
  private body: BodyPump | null = null;
  /** the final head went to the client */
  headSent = false;

  constructor(private readonly host: ResponseRelayHost, private readonly limits: { rspHeadMaxBytes: number; bodyLineMaxLength: number }) {
    this.reader = new HeadReader({ maxHeadBytes: limits.rspHeadMaxBytes }, 'response');
  }

  /** The body goes to the client chunked (and not as-is): an HTTP/1.0 client can then only see it end by close. */
  get chunkedOut(): boolean {
    return this.body?.chunkedOut ?? false;
  }

  /** the body is being relayed (the head is in) */
  get relaying(): boolean {
    return this.body !== null;
  }

  /** Upstream bytes: the head, interim heads, the body. */
  push(chunk: Buffer): void {
    if (this.body) return this.pumpBody(chunk);
    const host = this.host;
    const req = host.request;
    let r;
    let rsp: ResponseHead;
    try {
      r = this.reader.push(chunk);
      if (!r) return;
      rsp = parseResponseHead(r.head, req.method, { maxHeadBytes: this.limits.rspHeadMaxBytes, maxHeaderCount: 200, maxUriLength: 8192 });
    } catch (e) {
      return host.failed(new SluiceError('UPSTREAM_PROTOCOL_INVALID', `bad response head: ${detail(e)}`), 502);
    }
    this.reader.reset();
    if (rsp.status < 200) {
      if (rsp.status === 101) return host.failed(new SluiceError('UPSTREAM_PROTOCOL_INVALID', 'unexpected 101 Switching Protocols: upgrades are not relayed'), 502);
      // interim response (100 Continue, 103 Early Hints): pass it on to an HTTP/1.1 client and read on
      if (req.versionMinor === 1) host.writeClient(interimResponseHead(rsp));
      if (r.rest && r.rest.length > 0) this.push(r.rest);
      return;
    }
    this.rsp = rsp;
    const task = host.task;
    task.originStatus = rsp.status;
    task.rspStatus = rsp.status;
    task.durRspRecvHdr = task.elapsed();
    task.markReady();
    // a close-delimited body goes to an HTTP/1.1 client chunked, so the client connection can stay
    const chunkedOut = rsp.bodyKind === 'chunked' || (rsp.bodyKind === 'close' && req.versionMinor === 1);
    const body = new BodyPump(rsp.bodyKind, rsp.contentLength, chunkedOut, host.writeClient, { maxLineLength: this.limits.bodyLineMaxLength, peer: 'response' });
    this.body = body;
    const rest = r.rest && r.rest.length > 0 ? r.rest : null;
    if (body.done || !rest) {
      this.headSent = true;
      host.writeClient(host.finalHead(rsp, chunkedOut));
      if (!body.done) return;
      if (rest) host.upstreamSocket()?.destroy(); // garbage after a body-less response: not reusable
      return host.done();
    }
    // The body bytes that came with the head are decoded before the head goes out: a response whose framing is
    // broken from the start (a chunk line over body_line_max_length) still gets 502.
    let end: number;
    try {
      end = body.pushAfterHead(host.finalHead(rsp, chunkedOut), rest);
    } catch (e) {
      return host.failed(new SluiceError('UPSTREAM_PROTOCOL_INVALID', `bad response body: ${detail(e)}`), 502);
    }
    this.headSent = true;
    this.bodyPushed(body, end, rest.length);
  }

  private pumpBody(chunk: Buffer): void {
    const body = this.body!;
    let end: number;
    try {
      end = body.push(chunk);
    } catch (e) {
      return this.host.failed(new SluiceError('UPSTREAM_PROTOCOL_INVALID', `bad response body: ${detail(e)}`), 502);
    }
    this.bodyPushed(body, end, chunk.length);
  }

  /** After body bytes went to the client: slow the upstream down if the client is full, finish at the end. */
  private bodyPushed(body: BodyPump, end: number, pushed: number): void {
    if (!body.flowing) {
      body.flowing = true;
      this.host.upstreamSocket()?.pause();
    }
    if (end < 0) return;
    if (end < pushed) this.host.upstreamSocket()?.destroy(); // bytes after the response: do not reuse
    this.host.done();
  }

  /**
   * The upstream ended its side. A close-delimited body is then complete (true, `done()` was called); anything
   * else is a broken or missing response, for the exchange to judge (false).
   */
  upstreamEnded(): boolean {
    if (!this.body || this.rsp?.bodyKind !== 'close') return false;
    this.body.end();
    this.host.upstreamSocket()?.destroy();
    this.host.done();
    return true;
  }
}
