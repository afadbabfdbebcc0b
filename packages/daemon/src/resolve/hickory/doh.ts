/**
 * DNS over HTTPS (RFC 8484) on one HTTP/2 connection: each query is a POST of the wire message to /dns-query,
 * with id 0 as §4.1 recommends (HTTP/2 streams already tell answers apart).
 */
import { connect as h2Connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { DnsFormatError, parseMessage, responseMismatch, type DnsMessage } from '@sluice/protocol';
import { ExchangeError } from './exchange-error.js';

const MEDIA_TYPE = 'application/dns-message';
/** a DNS message is at most 65535 octets; anything longer is not an answer */
const MAX_BODY = 65535;

export class DohSession {
  private closed = false;
  private readonly session: ClientHttp2Session;

  constructor(sock: TLSSocket, private readonly authority: string, private readonly what: string, idleMs: number) {
    this.session = h2Connect(`https://${authority}`, { createConnection: () => sock });
    this.session.on('error', () => this.close());
    this.session.on('close', () => this.close());
    this.session.on('goaway', () => this.close());
    this.session.setTimeout(idleMs, () => this.close());
    this.session.unref();
  }

  get usable(): boolean {
    return !this.closed && !this.session.closed && !this.session.destroyed;
  }

  request(query: Buffer, name: string, type: number, timeoutMs: number): Promise<DnsMessage> {
    if (!this.usable) return Promise.reject(new ExchangeError('closed', `${this.what}: connection closed`));
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | null, msg?: DnsMessage) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (stream && !stream.closed) stream.close(h2.NGHTTP2_CANCEL);
        if (err) reject(err);
        else resolve(msg!);
      };
      const timer = setTimeout(() => finish(new ExchangeError('timeout', `no answer from ${this.what} within ${timeoutMs}ms`)), timeoutMs);
      let stream: ClientHttp2Stream | undefined;
      try {
        stream = this.session.request({
          [h2.HTTP2_HEADER_METHOD]: 'POST',
          [h2.HTTP2_HEADER_PATH]: '/dns-query',
          [h2.HTTP2_HEADER_AUTHORITY]: this.authority,
          [h2.HTTP2_HEADER_CONTENT_TYPE]: MEDIA_TYPE,
          [h2.HTTP2_HEADER_ACCEPT]: MEDIA_TYPE,
          [h2.HTTP2_HEADER_CONTENT_LENGTH]: String(query.length),
        });
      } catch (e) {
        // the session went away between the usable check and now
        return finish(new ExchangeError('closed', `${this.what}: ${(e as Error).message}`, { cause: e }));
      }
      stream.on('error', (e) => finish(new ExchangeError('closed', `${this.what}: ${e.message}`, { cause: e })));
      stream.on('close', () => finish(new ExchangeError('closed', `${this.what}: stream closed before the answer`)));
      stream.on('response', (headers) => {
        const status = Number(headers[h2.HTTP2_HEADER_STATUS]);
        if (status !== 200) return finish(new ExchangeError('http', `${this.what} answered HTTP ${status}`));
        const ct = String(headers[h2.HTTP2_HEADER_CONTENT_TYPE] ?? '').split(';')[0]!.trim().toLowerCase();
        if (ct !== MEDIA_TYPE) return finish(new ExchangeError('http', `${this.what} answered with content-type '${ct}'`));
      });
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_BODY) return finish(new ExchangeError('malformed', `${this.what}: answer body longer than ${MAX_BODY} octets`));
        chunks.push(d);
      });
      stream.on('end', () => {
        let msg: DnsMessage;
        try {
          msg = parseMessage(Buffer.concat(chunks, size));
        } catch (e) {
          return finish(new ExchangeError('malformed', `malformed answer from ${this.what}: ${(e as DnsFormatError).message}`, { cause: e }));
        }
        const why = responseMismatch(msg, 0, name, type);
        if (why !== null) return finish(new ExchangeError('malformed', `answer from ${this.what} does not match the query: ${why}`));
        finish(null, msg);
      });
      stream.end(query);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // destroy fails the open streams, whose 'close' handlers reject their queries
    this.session.destroy();
  }
}
