/**
 * Scalar building blocks shared by the value parsers: maps, integers, booleans, strings and lists as
 * g3proxy accepts them (its YAML helpers also take a decimal string wherever they take an integer, and
 * `on`/`off`/`yes`/`no` for booleans).
 */
import { ValueError, describe, within } from './errors.js';

export type YamlMap = Record<string, unknown>;

/** Writable view of a readonly result type, for filling it in before freezing. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A plain mapping as produced by the YAML loader (not an array, not null, not a class instance). */
export function isMap(v: unknown): v is YamlMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function expectMap(v: unknown, what: string): YamlMap {
  if (!isMap(v)) throw new ValueError(`${what} must be a map, got ${describe(v)}`);
  return v;
}

/** g3proxy's key normalisation: lowercase, `-` read as `_` (so `Idle-Time` is `idle_time`). */
export function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/-/g, '_');
}

/**
 * Walks a map's keys in order, giving each value to the handler registered for the key. Keys are
 * normalised first (the config loader leaves the inside of parser-handled values as written); a key
 * without a handler is an error (g3proxy rejects unknown keys everywhere). Error paths name the key as
 * written, so the loader can find it in the YAML. `handlers` is keyed by every accepted spelling.
 */
export function forEachKey(map: YamlMap, what: string, handlers: Record<string, (v: unknown, key: string) => void>): void {
  for (const [key, value] of Object.entries(map)) {
    const name = normalizeKey(key);
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (!handler) {
      const known = Object.keys(handlers).join(', ');
      throw new ValueError(`unknown key '${key}' in ${what} (known keys: ${known})`, [key]);
    }
    within(key, () => handler(value, key));
  }
}

const DIGITS = /^[0-9]+$/;

/**
 * An unsigned integer no larger than `max`: a YAML integer or a string of decimal digits.
 * `what` names the kind of number for messages ("port", "u8").
 */
export function asUint(v: unknown, max: number, what = 'non-negative integer'): number {
  let n: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ValueError(`expected a ${what}, got ${describe(v)} (not an integer)`);
    n = v;
  } else if (typeof v === 'string' && DIGITS.test(v)) {
    n = Number(v);
  } else {
    throw new ValueError(`expected a ${what}, got ${describe(v)}`);
  }
  if (n < 0) throw new ValueError(`expected a ${what}, got negative ${n}`);
  if (n > max) throw new ValueError(`${n} is out of range for a ${what} (max ${max})`);
  return n;
}

export const U8_MAX = 0xff;
export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;

export const asU8 = (v: unknown): number => asUint(v, U8_MAX, 'u8 integer (0..255)');
export const asU16 = (v: unknown): number => asUint(v, U16_MAX, 'u16 integer (0..65535)');
export const asU32 = (v: unknown): number => asUint(v, U32_MAX, 'u32 integer');
export const asUsize = (v: unknown): number => asUint(v, Number.MAX_SAFE_INTEGER, 'non-negative integer');

export function asNonZeroU32(v: unknown): number {
  const n = asUint(v, U32_MAX, 'positive integer');
  if (n === 0) throw new ValueError('expected a positive integer, got 0');
  return n;
}

/** A float: YAML number or numeric string. Infinity and NaN are refused. */
export function asF64(v: unknown): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && v.trim() !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) n = Number(v);
  else throw new ValueError(`expected a number, got ${describe(v)}`);
  if (!Number.isFinite(n)) throw new ValueError(`expected a finite number, got ${n}`);
  return n;
}

/** A boolean as g3proxy reads it: YAML bool, `on/off/true/false/yes/no/1/0` strings, or an integer (non-zero = true). */
export function asBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return v !== 0;
  if (typeof v === 'string') {
    switch (v.toLowerCase()) {
      case 'on':
      case 'true':
      case 'yes':
      case '1':
        return true;
      case 'off':
      case 'false':
      case 'no':
      case '0':
        return false;
    }
  }
  throw new ValueError(`expected a boolean (true/false, on/off, yes/no), got ${describe(v)}`);
}

/** A string; YAML numbers are accepted and turned into their text, as g3proxy does. */
export function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new ValueError(`expected a string, got ${describe(v)}`);
}

/** A string containing only ASCII characters. */
export function asAscii(v: unknown): string {
  const s = asString(v);
  if (!/^[\x00-\x7f]*$/.test(s)) throw new ValueError(`'${s}' must contain only ASCII characters`);
  return s;
}

/**
 * `list<T>` in g3proxy: a single T or a sequence of T. Errors inside a sequence carry the element's index
 * in their path.
 */
export function parseList<T>(v: unknown, itemParser: (item: unknown) => T): readonly T[] {
  if (Array.isArray(v)) return Object.freeze(v.map((item, i) => within(i, () => itemParser(item))));
  return Object.freeze([itemParser(v)]);
}

/** `table[key]` only for the table's own keys, so 'constructor' or '__proto__' never look like entries. */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
