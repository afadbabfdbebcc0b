/**
 * The slice of MessagePack the fluentd Forward protocol needs: encode strings, integers, floats, booleans,
 * nil, binary, arrays, maps and EventTime (ext type 0); decode the handshake messages (HELO, PONG).
 */
export class MsgpackWriter {
  private buf = Buffer.allocUnsafe(512);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  arrayHeader(n: number): this {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = 0xdc;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdd;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    return this;
  }

  mapHeader(n: number): this {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = 0x80 | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = 0xde;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdf;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    return this;
  }

  str(s: string): this {
    const len = Buffer.byteLength(s);
    this.ensure(len + 5);
    if (len < 32) this.buf[this.pos++] = 0xa0 | len;
    else if (len < 0x100) {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = len;
    } else if (len < 0x10000) {
      this.buf[this.pos++] = 0xda;
      this.buf.writeUInt16BE(len, this.pos);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = 0xdb;
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4;
    }
    this.pos += this.buf.write(s, this.pos, 'utf8');
    return this;
  }

  bin(b: Uint8Array): this {
    this.ensure(b.length + 5);
    if (b.length < 0x100) {
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = b.length;
    } else {
      this.buf[this.pos++] = 0xc6;
      this.buf.writeUInt32BE(b.length, this.pos);
      this.pos += 4;
    }
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 0xc3 : 0xc2;
    return this;
  }

  nil(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
    return this;
  }

  number(n: number): this {
    this.ensure(9);
    if (Number.isInteger(n) && n >= 0 && n <= 0xffffffff) {
      if (n < 128) this.buf[this.pos++] = n;
      else if (n < 0x100) {
        this.buf[this.pos++] = 0xcc;
        this.buf[this.pos++] = n;
      } else if (n < 0x10000) {
        this.buf[this.pos++] = 0xcd;
        this.buf.writeUInt16BE(n, this.pos);
        this.pos += 2;
      } else {
        this.buf[this.pos++] = 0xce;
        this.buf.writeUInt32BE(n, this.pos);
        this.pos += 4;
      }
    } else if (Number.isInteger(n) && n < 0 && n >= -32) {
      this.buf[this.pos++] = 0xe0 | (n + 32);
    } else if (Number.isSafeInteger(n)) {
      this.buf[this.pos++] = 0xd3;
      this.buf.writeBigInt64BE(BigInt(n), this.pos);
      this.pos += 8;
    } else {
      this.buf[this.pos++] = 0xcb;
      this.buf.writeDoubleBE(n, this.pos);
      this.pos += 8;
    }
    return this;
  }

  /** Forward protocol EventTime: fixext8, type 0, seconds and nanoseconds as big-endian u32. */
  eventTime(ms: number): this {
    this.ensure(10);
    this.buf[this.pos++] = 0xd7;
    this.buf[this.pos++] = 0x00;
    const sec = Math.floor(ms / 1000);
    this.buf.writeUInt32BE(sec >>> 0, this.pos);
    this.buf.writeUInt32BE(Math.min(999_999_999, Math.round((ms - sec * 1000) * 1e6)), this.pos + 4);
    this.pos += 8;
    return this;
  }

  value(v: string | number | boolean | null): this {
    if (typeof v === 'string') return this.str(v);
    if (typeof v === 'number') return this.number(v);
    if (typeof v === 'boolean') return this.bool(v);
    return this.nil();
  }

  /** A copy of what was written; the writer can be reused after `reset()`. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  reset(): void {
    this.pos = 0;
  }
}

export type MsgpackValue = null | boolean | number | string | Buffer | MsgpackValue[] | { [k: string]: MsgpackValue } | { ext: number; data: Buffer };

/** Decode one value at `off`; returns [value, next offset]. Throws RangeError on truncated input. */
export function decodeMsgpack(b: Buffer, off = 0): [MsgpackValue, number] {
  const need = (n: number) => {
    if (off + n > b.length) throw new RangeError('truncated msgpack');
  };
  need(1);
  const t = b[off++]!;
  const strAt = (len: number): [string, number] => {
    need(len);
    return [b.toString('utf8', off, off + len), off + len];
  };
  const binAt = (len: number): [Buffer, number] => {
    need(len);
    return [b.subarray(off, off + len), off + len];
  };
  const arr = (n: number): [MsgpackValue, number] => {
    const out: MsgpackValue[] = [];
    for (let i = 0; i < n; i++) {
      const [v, o] = decodeMsgpack(b, off);
      out.push(v);
      off = o;
    }
    return [out, off];
  };
  const map = (n: number): [MsgpackValue, number] => {
    const out: Record<string, MsgpackValue> = {};
    for (let i = 0; i < n; i++) {
      const [k, o1] = decodeMsgpack(b, off);
      const [v, o2] = decodeMsgpack(b, o1);
      out[String(k)] = v;
      off = o2;
    }
    return [out, off];
  };
  if (t < 0x80) return [t, off];
  if (t >= 0xe0) return [t - 0x100, off];
  if ((t & 0xf0) === 0x80) return map(t & 0x0f);
  if ((t & 0xf0) === 0x90) return arr(t & 0x0f);
  if ((t & 0xe0) === 0xa0) return strAt(t & 0x1f);
  switch (t) {
    case 0xc0: return [null, off];
    case 0xc2: return [false, off];
    case 0xc3: return [true, off];
    case 0xc4: need(1); return binAt(b[off++]!);
    case 0xc5: need(2); off += 2; return binAt(b.readUInt16BE(off - 2));
    case 0xc6: need(4); off += 4; return binAt(b.readUInt32BE(off - 4));
    case 0xca: need(4); return [b.readFloatBE(off), off + 4];
    case 0xcb: need(8); return [b.readDoubleBE(off), off + 8];
    case 0xcc: need(1); return [b[off]!, off + 1];
    case 0xcd: need(2); return [b.readUInt16BE(off), off + 2];
    case 0xce: need(4); return [b.readUInt32BE(off), off + 4];
    case 0xcf: need(8); return [Number(b.readBigUInt64BE(off)), off + 8];
    case 0xd0: need(1); return [b.readInt8(off), off + 1];
    case 0xd1: need(2); return [b.readInt16BE(off), off + 2];
    case 0xd2: need(4); return [b.readInt32BE(off), off + 4];
    case 0xd3: need(8); return [Number(b.readBigInt64BE(off)), off + 8];
    case 0xd7: need(9); return [{ ext: b.readInt8(off), data: b.subarray(off + 1, off + 9) }, off + 9];
    case 0xd9: need(1); return strAt(b[off++]!);
    case 0xda: need(2); off += 2; return strAt(b.readUInt16BE(off - 2));
    case 0xdb: need(4); off += 4; return strAt(b.readUInt32BE(off - 4));
    case 0xdc: need(2); off += 2; return arr(b.readUInt16BE(off - 2));
    case 0xdd: need(4); off += 4; return arr(b.readUInt32BE(off - 4));
    case 0xde: need(2); off += 2; return map(b.readUInt16BE(off - 2));
    case 0xdf: need(4); off += 4; return map(b.readUInt32BE(off - 4));
    default: throw new RangeError(`unsupported msgpack type 0x${t.toString(16)}`);
  }
}
