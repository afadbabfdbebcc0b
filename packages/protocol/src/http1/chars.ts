/**
 * Byte-class tables shared by the HTTP/1 parsers. Indexing a Uint8Array by char code is the cheapest check
 * V8 offers, and the parsers work on latin1 strings, so every code is < 256.
 */

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const COLON = 0x3a;
export const SEMI = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

/** RFC 9110 tchar: the characters of a token (method, field name, coding name). */
export const TOKEN = new Uint8Array(256);
/** field-vchar / SP / HTAB: what a field value may hold (obs-text included, controls excluded). */
export const FIELD_VALUE = new Uint8Array(256);
/** qdtext of a quoted-string (excludes DQUOTE and backslash). */
export const QDTEXT = new Uint8Array(256);
/** Hex digit value, 255 when not a hex digit. */
export const HEX = new Uint8Array(256).fill(255);

for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;

FIELD_VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

QDTEXT[HTAB] = 1;
QDTEXT[SP] = 1;
QDTEXT[0x21] = 1;
for (let c = 0x23; c <= 0x5b; c++) QDTEXT[c] = 1;
for (let c = 0x5d; c <= 0x7e; c++) QDTEXT[c] = 1;
for (let c = 0x80; c <= 0xff; c++) QDTEXT[c] = 1;

for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

/** True when s[start, end) is a non-empty token. */
export function isToken(s: string, start = 0, end = s.length): boolean {
  if (start >= end) return false;
  // A code above 255 reads as undefined, which is not 1.
  for (let i = start; i < end; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

export function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}
