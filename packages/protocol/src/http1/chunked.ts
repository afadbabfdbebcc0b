import { BACKSLASH, CR, DQUOTE, EQUALS, FIELD_VALUE, HEX, LF, QDTEXT, SEMI, TOKEN, isOws } from './chars.js';
import { DEFAULT_HTTP_LIMITS, HttpParseError, type HttpPeer } from './errors.js';
import { parseFieldLines, type HttpHeader } from './fields.js';

export interface ChunkedDecoderOptions {
  /** Largest accepted chunk-size; default 2^40. */
  maxChunkSize?: number;
  /** Bound on the whole trailer section in bytes; default 16 KiB. */
  maxTrailerBytes?: number;
  /** Most trailer fields; default DEFAULT_HTTP_LIMITS.maxHeaderCount. */
  maxTrailerCount?: number;
  /**
   * Longest line inside the body: a chunk-size line (digits and extensions) or one trailer field line, without
   * its CRLF; default MAX_CHUNK_SIZE_LINE. g3's `body_line_max_length`.
   */
  maxLineLength?: number;
  /** 'request' (errors are 400, strict trailers) or 'response' (errors are 502, lenient trailers). */
  peer?: HttpPeer;
}

/** Default bound on a chunk-size line (digits and extensions) and on a trailer line. */
export const MAX_CHUNK_SIZE_LINE = 4096;

// Decoder states. Those up to S_EXT_VALUE_BWS are inside the chunk-size line, before its CR.
const S_SIZE = 0;
const S_SIZE_BWS = 1;
const S_EXT_NAME_START = 2;
const S_EXT_NAME = 3;
const S_EXT_NAME_BWS = 4;
const S_EXT_VALUE_START = 5;
const S_EXT_TOKEN = 6;
const S_EXT_QUOTED = 7;
const S_EXT_QUOTED_ESC = 8;
const S_EXT_QUOTED_END = 9;
const S_EXT_VALUE_BWS = 10;
const S_SIZE_LF = 11;
const S_DATA = 12;
const S_DATA_CR = 13;
const S_DATA_LF = 14;
const S_TRAILER_START = 15;
const S_TRAILER_LINE = 16;
const S_FINAL_LF = 17;
const S_DONE = 18;

/**
 * Strict decoder for a chunked body (RFC 9112 §7.1), for relaying: it validates the framing byte by byte and
 * hands out the chunk data as views of the input, never copies.
 *
 * Chunk extensions are checked against the grammar and dropped; CRLF is required everywhere, a bare LF or CR is
 * an error. Because the state lives in fields, any split of the body across push() calls decodes the same.
 */
export class ChunkedDecoder {
  /** Trailer fields, filled once the body is complete. */
  trailers: HttpHeader[] = [];
  private readonly maxChunkSize: number;
  private readonly maxTrailerBytes: number;
  private readonly maxTrailerCount: number;
  private readonly maxLine: number;
  private readonly status: number;
  private readonly lenientTrailers: boolean;
  private state = S_SIZE;
  private size = 0;
  private digits = 0;
  private lineBytes = 0;
  private remaining = 0;
  private trailerText = '';
  private trailerBytes = 0;
  private lastWasCR = false;

  constructor(options: ChunkedDecoderOptions = {}) {
    this.maxChunkSize = Math.min(options.maxChunkSize ?? 2 ** 40, Number.MAX_SAFE_INTEGER);
    this.maxTrailerBytes = options.maxTrailerBytes ?? 16 * 1024;
    this.maxTrailerCount = options.maxTrailerCount ?? DEFAULT_HTTP_LIMITS.maxHeaderCount;
    this.maxLine = options.maxLineLength ?? MAX_CHUNK_SIZE_LINE;
    this.lenientTrailers = options.peer === 'response';
    this.status = this.lenientTrailers ? 502 : 400;
  }

  /** True once the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === S_DONE;
  }

  /**
   * Decodes `chunk`, passing each run of data bytes to `onData` (views of `chunk`). Returns -1 while the body
   * continues, or the offset in `chunk` just after the body; bytes from there on belong to the next message.
   */
  push(chunk: Buffer, onData: (data: Buffer) => void): number {
    if (this.state === S_DONE) throw new Error('ChunkedDecoder: body already complete; call reset() first');
    const len = chunk.length;
    let i = 0;
    while (i < len) {
      const state = this.state;
      if (state === S_DATA) {
        const n = len - i < this.remaining ? len - i : this.remaining;
        onData(i === 0 && n === len ? chunk : chunk.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = S_DATA_CR;
        continue;
      }
      if (state === S_TRAILER_LINE) {
        i = this.readTrailerLine(chunk, i);
        continue;
      }
      const c = chunk[i]!;
      if (state <= S_EXT_VALUE_BWS && c !== CR && ++this.lineBytes > this.maxLine) this.fail('chunk size line too long');
      switch (state) {
        case S_SIZE: {
          const d = HEX[c]!;
          if (d !== 255) {
            if (this.digits === 16) this.fail('chunk size has too many digits');
            this.digits++;
            this.size = this.size * 16 + d;
            if (this.size > this.maxChunkSize) this.fail('chunk size too large');
          } else if (this.digits === 0) this.failAt(c, 'invalid chunk size');
          else if (c === CR) this.state = S_SIZE_LF;
          else if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (isOws(c)) this.state = S_SIZE_BWS;
          else this.failAt(c, 'invalid chunk size');
          break;
        }
        case S_SIZE_BWS:
          if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (!isOws(c)) this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_NAME_START:
          if (TOKEN[c] === 1) this.state = S_EXT_NAME;
          else if (!isOws(c)) this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_NAME:
          if (TOKEN[c] === 1) break;
          if (c === EQUALS) this.state = S_EXT_VALUE_START;
          else if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (c === CR) this.state = S_SIZE_LF;
          else if (isOws(c)) this.state = S_EXT_NAME_BWS;
          else this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_NAME_BWS:
          if (c === EQUALS) this.state = S_EXT_VALUE_START;
          else if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (!isOws(c)) this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_VALUE_START:
          if (c === DQUOTE) this.state = S_EXT_QUOTED;
          else if (TOKEN[c] === 1) this.state = S_EXT_TOKEN;
          else if (!isOws(c)) this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_TOKEN:
          if (TOKEN[c] === 1) break;
          if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (c === CR) this.state = S_SIZE_LF;
          else if (isOws(c)) this.state = S_EXT_VALUE_BWS;
          else this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_QUOTED:
          if (c === DQUOTE) this.state = S_EXT_QUOTED_END;
          else if (c === BACKSLASH) this.state = S_EXT_QUOTED_ESC;
          else if (QDTEXT[c] !== 1) this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_QUOTED_ESC:
          if (FIELD_VALUE[c] === 1) this.state = S_EXT_QUOTED;
          else this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_QUOTED_END:
          if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (c === CR) this.state = S_SIZE_LF;
          else if (isOws(c)) this.state = S_EXT_VALUE_BWS;
          else this.failAt(c, 'invalid chunk extension');
          break;
        case S_EXT_VALUE_BWS:
          if (c === SEMI) this.state = S_EXT_NAME_START;
          else if (!isOws(c)) this.failAt(c, 'invalid chunk extension');
          break;
        case S_SIZE_LF:
          if (c !== LF) this.fail('bare CR in chunk size line');
          if (this.size === 0) {
            this.state = S_TRAILER_START;
          } else {
            this.remaining = this.size;
            this.state = S_DATA;
          }
          break;
        case S_DATA_CR:
          if (c !== CR) this.failAt(c, 'missing CRLF after chunk data');
          this.state = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (c !== LF) this.fail('missing CRLF after chunk data');
          this.state = S_SIZE;
          this.size = 0;
          this.digits = 0;
          this.lineBytes = 0;
          break;
        case S_TRAILER_START:
          if (c === CR) {
            this.state = S_FINAL_LF;
            break;
          }
          // The byte starts a trailer field line; read it there without consuming it here.
          this.state = S_TRAILER_LINE;
          this.lastWasCR = false;
          this.lineBytes = 0;
          continue;
        case S_FINAL_LF:
          if (c !== LF) this.fail('bare CR in trailer section');
          this.finishTrailers();
          this.state = S_DONE;
          return i + 1;
      }
      i++;
    }
    return -1;
  }

  /** Makes the decoder ready for the next chunked body. */
  reset(): void {
    this.trailers = [];
    this.state = S_SIZE;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
    this.remaining = 0;
    this.trailerText = '';
    this.trailerBytes = 0;
    this.lastWasCR = false;
  }

  /** Copies trailer line bytes (trailers are rare and small) up to and including the LF; returns the new offset. */
  private readTrailerLine(chunk: Buffer, i: number): number {
    const lf = chunk.indexOf(LF, i);
    const stop = lf === -1 ? chunk.length : lf;
    if (this.trailerBytes + (stop - i) + (lf === -1 ? 0 : 1) > this.maxTrailerBytes) {
      this.fail('trailer section too large');
    }
    if (stop > i) {
      this.trailerText += chunk.toString('latin1', i, stop);
      this.trailerBytes += stop - i;
      this.lineBytes += stop - i;
      this.lastWasCR = chunk[stop - 1] === CR;
    }
    // the CR before the LF is part of the bytes read but not of the line
    if (this.lineBytes - (this.lastWasCR ? 1 : 0) > this.maxLine) this.fail('trailer line too long');
    if (lf === -1) return stop;
    if (!this.lastWasCR) this.fail('bare LF in chunked body');
    this.trailerText += '\n';
    this.trailerBytes++;
    this.state = S_TRAILER_START;
    return lf + 1;
  }

  private finishTrailers(): void {
    const text = this.trailerText;
    if (text.length === 0) return;
    this.trailerText = '';
    parseFieldLines(Buffer.from(text, 'latin1'), text, 0, text.length, this.trailers, this.maxTrailerCount, this.lenientTrailers, this.status);
  }

  private failAt(c: number, detail: string): never {
    this.fail(c === LF ? 'bare LF in chunked body' : detail);
  }

  private fail(detail: string): never {
    throw new HttpParseError(this.status, detail);
  }
}
