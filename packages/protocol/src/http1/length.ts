/**
 * Counts off a Content-Length body, with the same push() contract as ChunkedDecoder: data goes to `onData` as
 * views of the input, and the return value is -1 while the body continues or the offset just after its end.
 * (A close-delimited body needs no decoder: everything until EOF is body.)
 */
export class LengthDecoder {
  private left: number;

  constructor(length: number) {
    this.left = checkLength(length);
  }

  /** Body bytes still expected. */
  get remaining(): number {
    return this.left;
  }

  get done(): boolean {
    return this.left === 0;
  }

  push(chunk: Buffer, onData: (data: Buffer) => void): number {
    if (this.left === 0) return 0;
    const len = chunk.length;
    if (len === 0) return -1;
    if (len < this.left) {
      this.left -= len;
      onData(chunk);
      return -1;
    }
    const n = this.left;
    this.left = 0;
    onData(n === len ? chunk : chunk.subarray(0, n));
    return n;
  }

  /** Starts counting a new body of `length` bytes. */
  reset(length: number): void {
    this.left = checkLength(length);
  }
}

function checkLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid body length ${length}`);
  return length;
}
