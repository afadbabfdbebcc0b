/**
 * The small slice of MessagePack route_query speaks: maps of strings, binaries, integers and arrays. Encoding
 * covers what requests hold (str and bin values); decoding covers every type an agent may reasonably answer with.
 */
export type MsgValue = null | boolean | number | string | Buffer | MsgValue[] | Map<string, MsgValue>;

function strHead(n: number): Buffer {
  if (n < 32) return Buffer.from([0xa0 | n]);
  if (n < 0x100) return Buffer.from([0xd9, n]);
  const b = Buffer.alloc(3);
  b[0] = 0xda;
  b.writeUInt16BE(n, 1);
  return b;
}

function binHead(n: number): Buffer {
  if (n < 0x100) return Buffer.from([0xc4, n]);
  const b = Buffer.alloc(3);
  b[0] = 0xc5;
  b.writeUInt16BE(n, 1);
  return b;
}

/** Encode a map of string keys to string / Buffer values (at most 15 entries). */
export function encodeMap(entries: ReadonlyArray<readonly [string, string | Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80 | entries.length])];
  for (const [k, v] of entries) {
    const kb = Buffer.from(k);
    parts.push(strHead(kb.length), kb);
    if (typeof v === 'string') {
      const vb = Buffer.from(v);
      parts.push(strHead(vb.length), vb);
    } else parts.push(binHead(v.length), v);
  }
  return Buffer.concat(parts);
}

class Cursor {
  off = 0;
  constructor(readonly b: Buffer) {}
  need(n: number): void {
    if (this.off + n > this.b.length) throw new Error('truncated msgpack value');
  }
}

function readN(c: Cursor, n: number): Buffer {
  c.need(n);
  const out = c.b.subarray(c.off, c.off + n);
  c.off += n;
  return out;
}

function readLen(c: Cursor, bytes: 1 | 2 | 4): number {
  c.need(bytes);
  const v = bytes === 1 ? c.b.readUInt8(c.off) : bytes === 2 ? c.b.readUInt16BE(c.off) : c.b.readUInt32BE(c.off);
  c.off += bytes;
  return v;
}

function readArray(c: Cursor, n: number, depth: number): MsgValue[] {
  const out: MsgValue[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(c, depth + 1));
  return out;
}

function readMap(c: Cursor, n: number, depth: number): Map<string, MsgValue> {
  const out = new Map<string, MsgValue>();
  for (let i = 0; i < n; i++) {
    const k = readValue(c, depth + 1);
    const v = readValue(c, depth + 1);
    out.set(Buffer.isBuffer(k) ? k.toString() : String(k), v);
  }
  return out;
}

function readValue(c: Cursor, depth: number): MsgValue {
  if (depth > 16) throw new Error('msgpack value nested too deep');
  c.need(1);
  const t = c.b[c.off++]!;
  if (t <= 0x7f) return t;
  if (t >= 0xe0) return t - 0x100;
  if ((t & 0xf0) === 0x80) return readMap(c, t & 0x0f, depth);
  if ((t & 0xf0) === 0x90) return readArray(c, t & 0x0f, depth);
  if ((t & 0xe0) === 0xa0) return readN(c, t & 0x1f).toString();
  switch (t) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return Buffer.from(readN(c, readLen(c, 1)));
    case 0xc5: return Buffer.from(readN(c, readLen(c, 2)));
    case 0xc6: return Buffer.from(readN(c, readLen(c, 4)));
    case 0xcc: return readLen(c, 1);
    case 0xcd: return readLen(c, 2);
    case 0xce: return readLen(c, 4);
    case 0xcf: { const b = readN(c, 8); return Number(b.readBigUInt64BE(0)); }
    case 0xd0: return readN(c, 1).readInt8(0);
    case 0xd1: return readN(c, 2).readInt16BE(0);
    case 0xd2: return readN(c, 4).readInt32BE(0);
    case 0xd3: return Number(readN(c, 8).readBigInt64BE(0));
    case 0xca: return readN(c, 4).readFloatBE(0);
    case 0xcb: return readN(c, 8).readDoubleBE(0);
    case 0xd9: return readN(c, readLen(c, 1)).toString();
    case 0xda: return readN(c, readLen(c, 2)).toString();
    case 0xdb: return readN(c, readLen(c, 4)).toString();
    case 0xdc: return readArray(c, readLen(c, 2), depth);
    case 0xdd: return readArray(c, readLen(c, 4), depth);
    case 0xde: return readMap(c, readLen(c, 2), depth);
    case 0xdf: return readMap(c, readLen(c, 4), depth);
    default: throw new Error(`unsupported msgpack type 0x${t.toString(16)}`);
  }
}

export function decode(b: Buffer): MsgValue {
  return readValue(new Cursor(b), 0);
}
