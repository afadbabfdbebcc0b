/**
 * g3proxy's "humanize" values: durations and byte sizes (lib/g3-yaml/src/humanize, humanize-rs 0.1.5).
 */
import { ValueError, describe } from './errors.js';
import { own } from './primitives.js';

const NANOS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
};
const DURATION_UNITS = 'ns, us, ms, s, m, h, d';
/** Durations are u64 nanoseconds in g3proxy. */
const MAX_DURATION_NANOS = 18_446_744_073_709_551_615;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * A duration in milliseconds (may be fractional for ns/us units).
 * - YAML integer or float: seconds.
 * - String: one or more `<int><unit>` segments, spaces allowed between and around them, units exactly
 *   `ns us ms s m h d` (case-sensitive). `200ms`, `1h 30m 71s`, `10h`.
 * - A string of only digits: seconds (humanize-rs reports a missing unit and g3proxy falls back to seconds).
 * Negative values, decimals inside strings (`1.5s`) and other unit names (`min`, `sec`) are refused.
 */
export function parseDuration(v: unknown): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValueError(`duration must be finite, got ${v}`);
    if (v < 0) throw new ValueError(`duration must not be negative, got ${v}`);
    return v * 1000;
  }
  if (typeof v !== 'string') {
    throw new ValueError(`duration must be a number of seconds or a string like '30s' or '1h 30m', got ${describe(v)}`);
  }
  const s = v.trim();
  if (s === '') throw new ValueError('duration must not be empty');
  if (/^[0-9]+$/.test(s)) return Number(s) * 1000;

  let nanos = 0;
  let i = 0;
  while (i < s.length) {
    const numStart = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    if (i === numStart) {
      const rest = s.slice(numStart);
      if (rest.startsWith('-')) throw new ValueError(`duration must not be negative, got '${v}'`);
      throw new ValueError(`invalid duration '${v}': expected a number before '${rest}'`);
    }
    const num = Number(s.slice(numStart, i));
    const unitStart = i;
    while (i < s.length && !isDigit(s.charCodeAt(i))) i++;
    const unit = s.slice(unitStart, i).trim();
    if (unit === '') {
      throw new ValueError(`invalid duration '${v}': '${num}' has no unit (use ${DURATION_UNITS}; only a lone number means seconds)`);
    }
    const perUnit = own(NANOS_PER_UNIT, unit);
    if (perUnit === undefined) {
      if (unit.startsWith('.')) {
        throw new ValueError(`invalid duration '${v}': decimals are not allowed, write e.g. '1s 500ms' instead of '1.5s'`);
      }
      throw new ValueError(`unknown duration unit '${unit}' in '${v}' (use ${DURATION_UNITS})`);
    }
    nanos += num * perUnit;
  }
  if (nanos > MAX_DURATION_NANOS) throw new ValueError(`duration '${v}' is too large`);
  return nanos / 1e6;
}

/** Multipliers by lowercased unit; the decimal ones are powers of 1000, the `i` ones powers of 1024. */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  ki: 2 ** 10,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mi: 2 ** 20,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gi: 2 ** 30,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  ti: 2 ** 40,
  tib: 2 ** 40,
  p: 1e15,
  pb: 1e15,
  pi: 2 ** 50,
  pib: 2 ** 50,
  e: 1e18,
  eb: 1e18,
  ei: 2 ** 60,
  eib: 2 ** 60,
};

/**
 * A byte size. YAML integer = bytes; string `<int>[ ]<unit>` with a case-insensitive unit: none/`b`,
 * `k|kb` = 1000, `ki|kib` = 1024, and likewise `m g t p e` with their `i` forms. `500K` = 500000,
 * `1KiB` = 1024. No decimals and no `/s` suffix (so the `10M/s` found in some guides is invalid).
 * The result must fit in `max` (default: the largest safe integer, which rules out any exabyte value).
 */
export function parseSize(v: unknown, max: number = Number.MAX_SAFE_INTEGER): number {
  let bytes: number;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ValueError(`size must be a whole number of bytes, got ${v}`);
    if (v < 0) throw new ValueError(`size must not be negative, got ${v}`);
    bytes = v;
  } else if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') throw new ValueError('size must not be empty');
    const m = /^([^\sA-Za-z]*)(.*)$/s.exec(s)!;
    const numText = m[1]!;
    const unitText = m[2]!.trim().toLowerCase();
    if (numText === '') throw new ValueError(`invalid size '${v}': expected a number first`);
    if (!/^[0-9]+$/.test(numText)) {
      if (numText.startsWith('-')) throw new ValueError(`size must not be negative, got '${v}'`);
      throw new ValueError(`invalid size '${v}': '${numText}' is not a whole number (no decimals)`);
    }
    const unit = own(SIZE_UNITS, unitText);
    if (unit === undefined) {
      const hint = unitText.includes('/') ? "; sizes take no '/s' suffix" : '';
      throw new ValueError(
        `unknown size unit '${m[2]!.trim()}' in '${v}' (use b, k|kb, ki|kib, m|mb, mi|mib, g, gi, t, ti, p, pi${hint})`,
      );
    }
    bytes = Number(numText) * unit;
  } else {
    throw new ValueError(`size must be a number of bytes or a string like '64K' or '1MiB', got ${describe(v)}`);
  }
  if (!Number.isSafeInteger(bytes) || bytes > max) {
    throw new ValueError(`size ${typeof v === 'string' ? `'${v}'` : v} is too large (max ${max} bytes)`);
  }
  return bytes;
}

/** A size that must fit in 32 bits (g3proxy's `humanize u32` fields). */
export function parseSizeU32(v: unknown): number {
  return parseSize(v, 0xffff_ffff);
}
