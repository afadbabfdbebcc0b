import { CR, LF } from './chars.js';
import { DEFAULT_HTTP_LIMITS, HttpParseError, type HttpLimits, type HttpPeer } from './errors.js';

/** A complete head and whatever followed it in the same chunk (body or pipelined bytes). */
export interface HeadChunk {
  /** Start line through the closing empty line (CRLFCRLF included). */
  head: Buffer;
  /** Bytes after the head, or null when the head ended exactly at the end of the chunk. */
  rest: Buffer | null;
}

/**
 * Collects bytes until a message head is complete.
 *
 * Each push scans only the new bytes, one LF at a time with Buffer#indexOf: every LF must follow a CR (a bare LF
 * is refused, since peers that accept it disagree with peers that don't about where lines end), and an empty line
 * ends the head. One empty line before the start line is skipped (RFC 9112 §2.2: clients may send a stray CRLF
 * after a POST body). When the whole head arrives in one chunk the result is a view into that chunk; otherwise
 * the pieces are joined once, when the head completes.
 *
 * Errors carry 400/431 when reading a request and 502 when reading a response.
 */
export class HeadReader {
  private readonly maxHeadBytes: number;
  private readonly badStatus: number;
  private readonly largeStatus: number;
  private readonly largeDetail: string;
  private chunks: Buffer[] = [];
  /** Bytes held in `chunks`; also the absolute offset of the next pushed byte. */
  private total = 0;
  /** Absolute offset of the start of the line being scanned. */
  private lineStart = 0;
  /** Absolute offset where the head starts (2 after a skipped leading CRLF). */
  private headStart = 0;
  private lastByte = -1;
  private complete = false;

  constructor(limits: Pick<HttpLimits, 'maxHeadBytes'> = DEFAULT_HTTP_LIMITS, peer: HttpPeer = 'request') {
    this.maxHeadBytes = limits.maxHeadBytes;
    const response = peer === 'response';
    this.badStatus = response ? 502 : 400;
    this.largeStatus = response ? 502 : 431;
    this.largeDetail = response ? 'response head too large' : 'request head too large';
  }

  /** Bytes received for the next head so far (0 on an idle keep-alive connection). */
  get bufferedBytes(): number {
    return this.total;
  }

  /**
   * Feeds the next chunk. Returns null while the head is incomplete (the chunk is kept), or the head and the
   * remainder of this chunk. Call reset() before reading another head.
   */
  push(chunk: Buffer): HeadChunk | null {
    if (this.complete) throw new Error('HeadReader: head already complete; call reset() first');
    const base = this.total;
    let from = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, from);
      if (lf === -1) break;
      const at = base + lf;
      if (at >= this.headStart + this.maxHeadBytes) throw new HttpParseError(this.largeStatus, this.largeDetail);
      const prev = lf > 0 ? chunk[lf - 1] : this.lastByte;
      if (prev !== CR || at === this.lineStart) throw new HttpParseError(this.badStatus, 'bare LF in head');
      if (at - 1 === this.lineStart) {
        if (this.lineStart !== this.headStart) return this.finish(chunk, base, lf + 1);
        if (this.headStart !== 0) throw new HttpParseError(this.badStatus, 'empty line before start line');
        this.headStart = at + 1;
      }
      this.lineStart = at + 1;
      from = lf + 1;
    }
    if (base + chunk.length - this.headStart > this.maxHeadBytes) {
      throw new HttpParseError(this.largeStatus, this.largeDetail);
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.total += chunk.length;
      this.lastByte = chunk[chunk.length - 1]!;
    }
    return null;
  }

  /** Forgets everything, ready for the next message on the connection. */
  reset(): void {
    this.chunks = [];
    this.total = 0;
    this.lineStart = 0;
    this.headStart = 0;
    this.lastByte = -1;
    this.complete = false;
  }

  private finish(chunk: Buffer, base: number, endInChunk: number): HeadChunk {
    this.complete = true;
    const rest = endInChunk < chunk.length ? chunk.subarray(endInChunk) : null;
    let head: Buffer;
    if (this.headStart >= base) {
      // The head lies wholly in this chunk: hand out a view, no copy.
      head = chunk.subarray(this.headStart - base, endInChunk);
    } else {
      this.chunks.push(chunk.subarray(0, endInChunk));
      head = Buffer.concat(this.chunks, base + endInChunk).subarray(this.headStart);
    }
    this.chunks = [];
    return { head, rest };
  }
}
