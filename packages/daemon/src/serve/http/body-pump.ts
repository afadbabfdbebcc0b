/**
 * Moves one HTTP message body to a sink while re-framing it: the incoming framing (Content-Length, chunked, or
 * until close) is decoded and the outgoing one written canonically, so no framing quirk of one peer reaches the
 * other. Chunked output writes one chunk per piece of data read; trailers are dropped (a plain last chunk).
 *
 * `push()` takes socket data and returns -1 while the body continues, or the offset just after its end (bytes
 * after it belong to the next message). A false return from the sink means "stop reading": the caller pauses.
 */
import { ChunkedDecoder, CHUNK_CRLF, encodeChunkHeader, LAST_CHUNK, LengthDecoder, type ChunkedDecoderOptions } from '@sluice/protocol';

export type BodyFraming = 'none' | 'length' | 'chunked' | 'close';

export class BodyPump {
  private readonly decoder: ChunkedDecoder | LengthDecoder | null;
  /** false once the sink asked us to slow down; reset by the caller's `resetPressure()` */
  flowing = true;
  done: boolean;

  /**
   * @param framing how the body arrives
   * @param length Content-Length when framing is 'length'
   * @param chunkedOut write the body as chunked (else as-is: the head carries a length or the body ends at close)
   * @param sink writes bytes to the peer; returns false on backpressure
   * @param chunked options of the chunked decoder (line length bound, which peer sends)
   */
  constructor(
    readonly framing: BodyFraming, length: number, readonly chunkedOut: boolean, private readonly sink: (b: Buffer) => boolean,
    chunked?: ChunkedDecoderOptions,
  ) {
    this.decoder = framing === 'chunked' ? new ChunkedDecoder(chunked) : framing === 'length' && length > 0 ? new LengthDecoder(length) : null;
    this.done = framing === 'none' || (framing === 'length' && length === 0);
  }

  /** what the pump wrote while pushAfterHead() decodes the first bytes; null otherwise */
  private held: Buffer[] | null = null;

  private write(b: Buffer): boolean {
    if (this.held) {
      this.held.push(b);
      return true;
    }
    return this.sink(b);
  }

  private readonly emit = (data: Buffer): void => {
    if (data.length === 0) return;
    if (this.chunkedOut) {
      this.write(encodeChunkHeader(data.length));
      this.write(data);
      if (!this.write(CHUNK_CRLF)) this.flowing = false;
    } else if (!this.write(data)) this.flowing = false;
  };

  /**
   * Start the body with `first`, the bytes that came with the message head, and write `head` before them. They
   * are decoded before anything is written, so a body whose framing is broken from the start throws while the
   * caller can still answer with an error of its own. Returns as push().
   */
  pushAfterHead(head: Buffer, first: Buffer): number {
    const held: Buffer[] = [];
    this.held = held;
    let end: number;
    try {
      end = this.push(first);
    } finally {
      this.held = null;
    }
    let ok = this.sink(head);
    for (const b of held) ok = this.sink(b);
    if (!ok) this.flowing = false;
    return end;
  }

  /** Feed body bytes; throws HttpParseError on broken framing. */
  push(chunk: Buffer): number {
    if (this.done) return 0;
    if (!this.decoder) {
      // close-delimited: everything is body until the peer closes
      this.emit(chunk);
      return -1;
    }
    const end = this.decoder.push(chunk, this.emit);
    if (end >= 0) this.end();
    return end;
  }

  /** The source closed: the end of a close-delimited body (for other framings the caller treats it as an error). */
  end(): void {
    if (this.done && this.framing !== 'close') return;
    this.done = true;
    if (this.chunkedOut) this.write(LAST_CHUNK);
  }
}
