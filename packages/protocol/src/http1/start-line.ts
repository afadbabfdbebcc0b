import { CR, LF } from './chars.js';
import { HttpParseError } from './errors.js';

/**
 * Reads "HTTP/1.0" or "HTTP/1.1" at s[start, end) and returns the minor version. Other well-formed versions
 * ("HTTP/2.0", "HTTP/1.2") throw `unsupportedStatus`; anything else throws `badStatus`.
 */
export function parseHttpVersion(
  s: string,
  start: number,
  end: number,
  badStatus: number,
  unsupportedStatus: number,
): 0 | 1 {
  if (end - start !== 8 || !s.startsWith('HTTP/', start)) throw new HttpParseError(badStatus, 'invalid HTTP version');
  const major = s.charCodeAt(start + 5) - 0x30;
  const minor = s.charCodeAt(start + 7) - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9 || s.charCodeAt(start + 6) !== 0x2e) {
    throw new HttpParseError(badStatus, 'invalid HTTP version');
  }
  if (major !== 1 || minor > 1) throw new HttpParseError(unsupportedStatus, 'unsupported HTTP version');
  return minor as 0 | 1;
}

/** A head handed to a parser must end with the empty line, as HeadReader delivers it. */
export function checkHeadEnd(s: string, status: number): void {
  const n = s.length;
  if (
    n < 4 ||
    s.charCodeAt(n - 1) !== LF ||
    s.charCodeAt(n - 2) !== CR ||
    s.charCodeAt(n - 3) !== LF ||
    s.charCodeAt(n - 4) !== CR
  ) {
    throw new HttpParseError(status, 'incomplete head');
  }
}
