/** Value formats of g3's logs, so existing pipelines parse sluice's records unchanged. */

/** RFC 3339 with microseconds and `Z`, e.g. `2024-08-15T14:26:13.124661Z`. `ms` may be fractional. */
// Busy proxies finish many tasks per second: the date-and-time part is formatted once per second, and tasks
// finishing out of order (their start_at a few ms apart) still hit the cache.
let isoSec = -1;
let isoPrefix = '';

export function formatTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  // round, not floor: 124.661 - 124 is 0.66099999... in binary floating point
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  const milli = whole % 1000;
  const sec = whole - milli;
  if (sec !== isoSec) {
    isoSec = sec;
    isoPrefix = new Date(sec).toISOString().slice(0, 20); // 2024-08-15T14:26:13.
  }
  return `${isoPrefix}${pad3(milli)}${pad3(micros)}Z`;
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`;
}

/**
 * Rust's `{:.3?}` Duration style: `1.002s`, `16.918ms`, `111.667µs`, `12ns`. The value is first made whole
 * nanoseconds (a Rust Duration is), then printed with integer arithmetic: `toFixed` costs ~100 ns a call and a
 * finished HTTP task prints up to seven durations.
 */
export function formatDuration(ms: number): string {
  return formatDurationIn(ms, 'µs');
}

/**
 * formatDuration with the microsecond unit already UTF-8 encoded, one byte per char (`\u00c2\u00b5s`), for a
 * line that is written with the latin1 encoding: its bytes are then exactly the UTF-8 of `µs`.
 */
export const MICROS_UTF8_BYTES = '\u00c2\u00b5s';
export function formatDurationUtf8Bytes(ms: number): string {
  return formatDurationIn(ms, MICROS_UTF8_BYTES);
}

function formatDurationIn(ms: number, micros: string): string {
  const ns = Math.round(ms * 1e6);
  // the unit is picked before rounding to 3 decimals, as Rust does: 999.9996ms prints as 1000.000ms
  if (ns >= 1e9) return fixed3(Math.round(ns / 1e6), 's');
  if (ns >= 1e6) return fixed3(Math.round(ns / 1e3), 'ms');
  if (ns >= 1e3) return fixed3(ns, micros);
  return `${ns}ns`;
}

/** `thousandths / 1000` with exactly three decimals and the unit */
function fixed3(thousandths: number, unit: string): string {
  const frac = thousandths % 1000;
  return `${(thousandths - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}${unit}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Mmm dd hh:mm:ss.mmm` in local time, the stdout driver's line prefix; the part up to the second is cached. */
let stdoutSec = -1;
let stdoutPrefix = '';

export function formatStdoutTime(ms: number): string {
  const whole = Math.floor(ms);
  const milli = whole % 1000;
  const sec = whole - milli;
  if (sec !== stdoutSec) {
    stdoutSec = sec;
    const d = new Date(sec);
    // local time zones are offset from UTC by whole minutes, so every ms of this second shares the prefix
    stdoutPrefix = `${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.`;
  }
  return stdoutPrefix + pad3(milli);
}

function p2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** RFC 3164 header time, local: `Mmm dd hh:mm:ss` with the day padded by a space (`Dec  1 10:20:30`). */
export function formatRfc3164Time(ms: number): string {
  const d = new Date(ms);
  const day = d.getDate();
  return `${MONTHS[d.getMonth()]} ${day < 10 ? ` ${day}` : day} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/**
 * Rust's `char::escape_debug` applied to every char, as g3's syslog text formats escape values: backslash,
 * both quotes, \t \r \n \0 and other control characters become escapes; everything else (UTF-8) stays.
 */
export function escapeDebug(s: string): string {
  // fast path: nothing to escape
  if (!/[\\"'\u0000-\u001f\u007f]/.test(s)) return s;
  let out = '';
  for (const c of s) {
    switch (c) {
      case '\\': out += '\\\\'; break;
      case '"': out += '\\"'; break;
      case "'": out += "\\'"; break;
      case '\t': out += '\\t'; break;
      case '\r': out += '\\r'; break;
      case '\n': out += '\\n'; break;
      case '\0': out += '\\0'; break;
      default: {
        const cp = c.codePointAt(0)!;
        out += cp < 0x20 || cp === 0x7f ? `\\u{${cp.toString(16)}}` : c;
      }
    }
  }
  return out;
}
