import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TOKEN, isOws } from './chars.js';
import { HttpParseError } from './errors.js';

/** One header (or trailer) field as received. */
export interface HttpHeader {
  /** Field name exactly as received (case kept for faithful forwarding). */
  name: string;
  /** Field name in lowercase, for lookups. */
  lname: string;
  /** Field value with leading and trailing OWS removed. */
  value: string;
}

function valueCharDetail(c: number | undefined): string {
  if (c === LF) return 'bare LF in header value';
  if (c === CR) return 'bare CR in header value';
  if (c === 0) return 'NUL in header value';
  return 'control character in header value';
}

/**
 * Parses the field lines in [pos, end) of a head held both as bytes `b` and as the latin1 string `s` of the same
 * bytes: validation loops run over the bytes (indexing a Buffer is cheaper than charCodeAt), names and values
 * are cut from the string (cheap slices). Every line in the range must end with CRLF, which also bounds the
 * scans; `end` is where the empty line closing the section starts.
 *
 * Strict mode (client messages, `status` 400) refuses whitespace before the colon and obs-fold, both classic
 * request-smuggling vectors (RFC 9112 §5.1, §5.2). Lenient mode (upstream messages, `status` 502) does what
 * RFC 9112 lets a proxy do with a response: drop the whitespace before the colon and replace each obs-fold
 * with SP. Value characters are checked in both modes: controls other than HTAB never pass.
 */
export function parseFieldLines(
  b: Uint8Array,
  s: string,
  pos: number,
  end: number,
  out: HttpHeader[],
  maxCount: number,
  lenient: boolean,
  status: number,
): void {
  while (pos < end) {
    let i = pos;
    let c = b[i]!;
    if (c === SP || c === HTAB) {
      if (!lenient || out.length === 0) throw new HttpParseError(status, 'obs-fold in header section');
      const prev = out[out.length - 1]!;
      const lineEnd = scanValue(b, i, status);
      const folded = trimmedSlice(b, s, i, lineEnd);
      if (folded.length > 0) prev.value = prev.value.length > 0 ? prev.value + ' ' + folded : folded;
      pos = lineEnd + 2;
      continue;
    }
    while (TOKEN[c] === 1) c = b[++i]!;
    const nameEnd = i;
    if (c !== COLON) {
      if (c === SP || c === HTAB) {
        if (!lenient) throw new HttpParseError(status, 'whitespace before colon');
        do c = b[++i]!;
        while (c === SP || c === HTAB);
        if (c !== COLON) throw new HttpParseError(status, 'invalid character in header name');
      } else if (c === CR && b[i + 1] === LF) {
        throw new HttpParseError(status, i === pos ? 'malformed header section' : 'header line without colon');
      } else {
        throw new HttpParseError(status, c === LF ? 'bare LF in header section' : 'invalid character in header name');
      }
    }
    if (nameEnd === pos) throw new HttpParseError(status, 'empty header name');
    if (out.length >= maxCount) throw new HttpParseError(status === 400 ? 431 : status, 'too many header fields');
    const lineEnd = scanValue(b, i + 1, status);
    const name = s.slice(pos, nameEnd);
    out.push({ name, lname: name.toLowerCase(), value: trimmedSlice(b, s, i + 1, lineEnd) });
    pos = lineEnd + 2;
  }
}

/** Checks value bytes from `i` up to the line's CRLF and returns the CR's offset. */
function scanValue(b: Uint8Array, i: number, status: number): number {
  while (FIELD_VALUE[b[i]!] === 1) i++;
  if (b[i] !== CR || b[i + 1] !== LF) throw new HttpParseError(status, valueCharDetail(b[i]));
  return i;
}

/** s[vs, ve) without leading and trailing OWS. */
function trimmedSlice(b: Uint8Array, s: string, vs: number, ve: number): string {
  while (vs < ve && isOws(b[vs]!)) vs++;
  while (ve > vs && isOws(b[ve - 1]!)) ve--;
  return s.slice(vs, ve);
}

/** Appends the non-empty, OWS-trimmed, lowercased elements of a comma-separated field value to `out`. */
export function pushListElements(value: string, out: string[]): void {
  const len = value.length;
  let start = 0;
  while (start <= len) {
    let comma = value.indexOf(',', start);
    if (comma === -1) comma = len;
    let a = start;
    let b = comma;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    // RFC 9110 §5.6.1: empty list elements are allowed and carry nothing.
    if (b > a) out.push(value.slice(a, b).toLowerCase());
    start = comma + 1;
  }
}

/** Content-Length digits: the value, -1 when not 1*DIGIT, -2 when above Number.MAX_SAFE_INTEGER. */
export function parseDecimalLength(s: string, start: number, end: number): number {
  if (start >= end) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  // Rounding is monotonic, so a value past the safe range never rounds back into it.
  return v > Number.MAX_SAFE_INTEGER ? -2 : v;
}
