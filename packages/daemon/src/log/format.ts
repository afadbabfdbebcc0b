/** Value formats of g3's logs, so existing pipelines parse sluice's records unchanged. */

/** RFC 3339 with microseconds and `Z`, e.g. `2024-08-15T14:26:13.124661Z`. `ms` may be fractional. */
// Busy proxies finish many tasks per millisecond: the date part is formatted once per millisecond.
let isoMs = -1;
let isoPrefix = '';

export function formatTimestamp(ms: number): string {
  const whole = Math.floor(ms);
  // round, not floor: 124.661 - 124 is 0.66099999... in binary floating point
  const micros = Math.min(999, Math.round((ms - whole) * 1000));
  if (whole !== isoMs) {
    isoMs = whole;
    isoPrefix = new Date(whole).toISOString().slice(0, 23); // 2024-08-15T14:26:13.124
  }
  return `${isoPrefix}${micros < 10 ? '00' : micros < 100 ? '0' : ''}${micros}Z`;
}

/**
 * Rust's `{:.3?}` Duration style: `1.002s`, `16.918ms`, `111.667µs`, `12ns`. The value is first made whole
 * nanoseconds (a Rust Duration is), then printed with integer arithmetic: `toFixed` costs ~100 ns a call and a
 * finished HTTP task prints up to seven durations.
 */
export function formatDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  // the unit is picked before rounding to 3 decimals, as Rust does: 999.9996ms prints as 1000.000ms
  if (ns >= 1e9) return fixed3(Math.round(ns / 1e6), 's');
  if (ns >= 1e6) return fixed3(Math.round(ns / 1e3), 'ms');
  if (ns >= 1e3) return fixed3(ns, 'µs');
  return `${ns}ns`;
}

/** `thousandths / 1000` with exactly three decimals and the unit */
function fixed3(thousandths: number, unit: string): string {
  const frac = thousandths % 1000;
  return `${(thousandths - frac) / 1000}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}${unit}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Mmm dd hh:mm:ss.mmm` in local time, the stdout driver's line prefix. */
let stdoutMs = -1;
let stdoutText = '';

export function formatStdoutTime(ms: number): string {
  if (ms === stdoutMs) return stdoutText;
  stdoutMs = ms;
  stdoutText = formatStdoutTimeUncached(ms);
  return stdoutText;
}

function formatStdoutTimeUncached(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  const msec = d.getMilliseconds();
  return `${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${msec < 10 ? '00' : msec < 100 ? '0' : ''}${msec}`;
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
