/**
 * Port sets (`80`, `"1000-2000"`, `"80,443,1000-2000"`, or a list of those) and port ranges.
 */
import { ValueError, describe, within } from './errors.js';
import { asU16, forEachKey, isMap } from './primitives.js';

/** A set of TCP/UDP ports backed by a 65536-bit bitmap: `has` is a shift and a mask. */
export class PortSet {
  private readonly bits = new Uint8Array(8192);
  private count = 0;

  /** Adds `start..end` inclusive. */
  addRange(start: number, end: number): void {
    for (let p = start; p <= end; p++) {
      const byte = p >>> 3;
      const mask = 1 << (p & 7);
      if ((this.bits[byte]! & mask) === 0) {
        this.bits[byte]! |= mask;
        this.count++;
      }
    }
  }

  add(port: number): void {
    this.addRange(port, port);
  }

  has(port: number): boolean {
    if (!(port >= 0 && port <= 0xffff)) return false;
    return (this.bits[port >>> 3]! & (1 << (port & 7))) !== 0;
  }

  get size(): number {
    return this.count;
  }

  /** Ports in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let p = 0; p <= 0xffff; p++) if (this.has(p)) yield p;
  }

  /** Compact text, ranges merged: `22,80,443,1000-2000`. */
  toString(): string {
    const parts: string[] = [];
    let p = 0;
    while (p <= 0xffff) {
      if (!this.has(p)) {
        p++;
        continue;
      }
      const start = p;
      while (p + 1 <= 0xffff && this.has(p + 1)) p++;
      parts.push(start === p ? String(start) : `${start}-${p}`);
      p++;
    }
    return parts.join(',');
  }
}

function portNumber(text: string, whole: string): number {
  const t = text.trim();
  if (!/^[0-9]+$/.test(t)) throw new ValueError(t === whole.trim() ? `'${t}' is not a port number` : `'${t}' in '${whole}' is not a port number`);
  const n = Number(t);
  if (n > 0xffff) throw new ValueError(`port ${n} in '${whole}' is out of range (0..65535)`);
  return n;
}

function addPortsText(set: PortSet, s: string): void {
  const parts = s.split(',');
  parts.forEach((part, i) => {
    within(i, () => {
      const pieces = part.trim().split('-');
      if (pieces.length === 1) {
        set.add(portNumber(pieces[0]!, s));
      } else if (pieces.length === 2) {
        const start = portNumber(pieces[0]!, s);
        const end = portNumber(pieces[1]!, s);
        if (start > end) throw new ValueError(`port range '${part.trim()}' starts after it ends`);
        set.addRange(start, end);
      } else {
        throw new ValueError(`'${part.trim()}' has too many '-' (write a range as 'start-end')`);
      }
    });
  });
}

function addPortsItem(set: PortSet, v: unknown): void {
  if (typeof v === 'number') set.add(asU16(v));
  else if (typeof v === 'string') addPortsText(set, v);
  else throw new ValueError(`ports must be a number, a string like '80,443,1000-2000', or a list of those, got ${describe(v)}`);
}

/** Ports: an integer, `"a-b"`, `"80,443,1000-2000"`, or a list of those. */
export function parsePorts(v: unknown): PortSet {
  const set = new PortSet();
  if (Array.isArray(v)) v.forEach((item, i) => within(i, () => addPortsItem(set, item)));
  else addPortsItem(set, v);
  Object.freeze(set);
  return set;
}

export interface PortRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A port range (e.g. `udp_bind_port_range`): `"start-end"` or `{start|from, end|to}`; start must not be 0
 * and end must be greater than start.
 */
export function parsePortRange(v: unknown): PortRange {
  let start = 0;
  let end = 0;
  if (typeof v === 'string') {
    const dash = v.indexOf('-');
    if (dash < 0) throw new ValueError(`port range '${v}' needs a '-' between start and end`);
    start = portNumber(v.slice(0, dash), v);
    end = portNumber(v.slice(dash + 1), v);
  } else if (isMap(v)) {
    forEachKey(v, 'port range', {
      start: (x) => (start = asU16(x)),
      from: (x) => (start = asU16(x)),
      end: (x) => (end = asU16(x)),
      to: (x) => (end = asU16(x)),
    });
  } else {
    throw new ValueError(`port range must be a string 'start-end' or a map {start, end}, got ${describe(v)}`);
  }
  if (start === 0) throw new ValueError('port range must not start at 0');
  if (end <= start) throw new ValueError(`port range end ${end} must be greater than its start ${start}`);
  return Object.freeze({ start, end });
}
