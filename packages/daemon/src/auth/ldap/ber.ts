/** The few BER shapes an LDAP simple bind and STARTTLS need (RFC 4511), encoded and decoded by hand. */

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
}

export function tlv(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export function integer(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

/** One decoded element: tag, and where its body lies in the buffer. */
export interface Element {
  tag: number;
  start: number;
  end: number;
}

/** The element at `off`, or null if the buffer does not hold all of it yet. Throws on malformed input. */
export function readElement(buf: Buffer, off: number): Element | null {
  if (buf.length < off + 2) return null;
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported BER length');
    if (buf.length < start + n) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  if (buf.length < start + len) return null;
  return { tag, start, end: start + len };
}

/** The children of a constructed element. */
export function children(buf: Buffer, e: Element): Element[] {
  const out: Element[] = [];
  let off = e.start;
  while (off < e.end) {
    const c = readElement(buf, off);
    if (!c || c.end > e.end) throw new Error('truncated BER element');
    out.push(c);
    off = c.end;
  }
  return out;
}

export function intValue(buf: Buffer, e: Element): number {
  let n = 0;
  for (let i = e.start; i < e.end; i++) n = n * 256 + buf[i]!;
  return n;
}
