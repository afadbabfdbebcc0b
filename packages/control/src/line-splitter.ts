/**
 * Splits a byte stream into `\n`-terminated lines with a hard bound on line length, so a peer that never
 * sends a newline cannot make us buffer without limit. Works on bytes (not strings) so a multi-byte UTF-8
 * character split across chunks is joined before decoding.
 */

export interface LineSink {
  /** A complete line without its `\n` (and without a trailing `\r`). Return false to stop this push. */
  line(line: Buffer): boolean | void;
  /**
   * A line exceeded the bound; its bytes up to the next `\n` are dropped. Called once per such line.
   * Return false to stop this push.
   */
  overflow(): boolean | void;
}

export class LineSplitter {
  #chunks: Buffer[] = [];
  #size = 0;
  /** inside an over-long line: drop bytes until the next newline */
  #discarding = false;

  /** Longest accepted line in bytes, excluding the newline. May change between pushes (mode switch). */
  maxLineBytes: number;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  push(chunk: Buffer, sink: LineSink): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        if (this.#discarding) return;
        const rest = chunk.length - start;
        if (this.#size + rest > this.maxLineBytes) {
          this.#reset();
          this.#discarding = true;
          sink.overflow();
          return;
        }
        this.#chunks.push(start === 0 ? chunk : chunk.subarray(start));
        this.#size += rest;
        return;
      }
      if (this.#discarding) {
        this.#discarding = false;
        start = nl + 1;
        continue;
      }
      const length = this.#size + (nl - start);
      if (length > this.maxLineBytes) {
        this.#reset();
        start = nl + 1;
        if (sink.overflow() === false) return;
        continue;
      }
      let line: Buffer;
      if (this.#size === 0) {
        line = chunk.subarray(start, nl);
      } else {
        this.#chunks.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.#chunks, length);
        this.#reset();
      }
      start = nl + 1;
      // Tolerate CRLF from interactive tools (socat, nc -C).
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      if (sink.line(line) === false) return;
    }
  }

  /** Bytes held for an unfinished line. */
  get bufferedBytes(): number {
    return this.#size;
  }

  #reset(): void {
    this.#chunks = [];
    this.#size = 0;
  }
}
