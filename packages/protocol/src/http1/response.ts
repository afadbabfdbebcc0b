import { FIELD_VALUE, SP, isOws } from './chars.js';
import { DEFAULT_HTTP_LIMITS, HttpParseError, type HttpLimits } from './errors.js';
import { parseDecimalLength, parseFieldLines, pushListElements, type HttpHeader } from './fields.js';
import { checkHeadEnd, parseHttpVersion } from './start-line.js';

export interface ResponseHead {
  versionMinor: 0 | 1;
  status: number;
  /** Reason phrase as sent; may be empty. */
  reason: string;
  headers: HttpHeader[];
  /**
   * How the body is delimited (RFC 9112 §6.3). 'none' also covers `Content-Length: 0`; 'close' means the body
   * runs until the upstream closes.
   */
  bodyKind: 'none' | 'length' | 'chunked' | 'close';
  /** Body length when bodyKind is 'length', else 0. */
  contentLength: number;
  /** Whether the upstream connection may carry another request after this response. */
  keepAlive: boolean;
  /** Lowercase tokens of all Connection fields. */
  connectionTokens: string[];
  /** Lowercase transfer-codings in order (e.g. ['gzip', 'chunked']); empty without Transfer-Encoding. */
  transferCodings: string[];
  headBytes: number;
}

function fail(detail: string): never {
  throw new HttpParseError(502, detail);
}

/**
 * Parses a response head. Lenient where real origins are sloppy (empty or odd reason phrases, obs-fold,
 * whitespace before a colon) but strict on framing, since a wrong body length desynchronises the connection.
 * `requestMethod` is the method of the request this answers (HEAD and CONNECT change the framing).
 * Errors carry status 502.
 */
export function parseResponseHead(
  head: Buffer,
  requestMethod: string,
  limits: HttpLimits = DEFAULT_HTTP_LIMITS,
): ResponseHead {
  const s = head.toString('latin1');
  checkHeadEnd(s, 502);
  const le = s.indexOf('\r\n');

  // status-line = HTTP-version SP 3DIGIT SP [reason-phrase]; a missing SP before an empty reason is tolerated.
  if (le < 12 || s.charCodeAt(8) !== SP) fail('malformed status line');
  const versionMinor = parseHttpVersion(s, 0, 8, 502, 502);
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) fail('invalid status code');
    status = status * 10 + d;
  }
  if (status < 100) fail('invalid status code');
  let reason = '';
  if (le > 12) {
    if (s.charCodeAt(12) !== SP) fail('malformed status line');
    for (let i = 13; i < le; i++) if (FIELD_VALUE[head[i]!] !== 1) fail('invalid character in reason phrase');
    reason = s.slice(13, le);
  }

  const headers: HttpHeader[] = [];
  parseFieldLines(head, s, le + 2, s.length - 2, headers, limits.maxHeaderCount, true, 502);

  let contentLength = -1;
  let clSeen = false;
  const transferCodings: string[] = [];
  let teSeen = false;
  const connectionTokens: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    switch (h.lname) {
      case 'content-length':
        clSeen = true;
        contentLength = mergeContentLength(contentLength, h.value);
        break;
      case 'transfer-encoding':
        teSeen = true;
        pushListElements(h.value, transferCodings);
        break;
      case 'connection':
        pushListElements(h.value, connectionTokens);
        break;
    }
  }

  let close = false;
  let keepAliveToken = false;
  for (let i = 0; i < connectionTokens.length; i++) {
    const t = connectionTokens[i]!;
    if (t === 'close') close = true;
    else if (t === 'keep-alive') keepAliveToken = true;
  }
  let keepAlive = versionMinor === 1 ? !close : keepAliveToken && !close;

  let bodyKind: ResponseHead['bodyKind'];
  const noBody =
    status < 200 ||
    status === 204 ||
    status === 304 ||
    requestMethod === 'HEAD' ||
    (requestMethod === 'CONNECT' && status < 300);
  if (noBody) {
    // Framing fields here describe a body that is not sent; they cannot desynchronise anything.
    bodyKind = 'none';
  } else if (teSeen) {
    if (clSeen) fail('content-length with transfer-encoding');
    if (versionMinor === 0) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; read to close, then drop the connection.
      bodyKind = 'close';
    } else {
      bodyKind = chunkedIsFinal(transferCodings) ? 'chunked' : 'close';
    }
  } else if (clSeen) {
    if (contentLength === -1) fail('invalid content-length');
    bodyKind = contentLength > 0 ? 'length' : 'none';
  } else {
    bodyKind = 'close';
  }
  if (bodyKind === 'close') keepAlive = false;

  return {
    versionMinor,
    status,
    reason,
    headers,
    bodyKind,
    contentLength: bodyKind === 'length' ? contentLength : 0,
    keepAlive,
    connectionTokens,
    transferCodings,
    headBytes: head.length,
  };
}

/**
 * Folds one Content-Length field into the value seen so far. Duplicates (separate fields or a list) are accepted
 * only when every value is the same (RFC 9110 §8.6). `current` is -1 before the first field.
 */
function mergeContentLength(current: number, value: string): number {
  let start = 0;
  const len = value.length;
  while (start <= len) {
    let comma = value.indexOf(',', start);
    if (comma === -1) comma = len;
    let a = start;
    let b = comma;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    const v = parseDecimalLength(value, a, b);
    if (v < 0) fail(v === -2 ? 'content-length too large' : 'invalid content-length');
    if (current !== -1 && v !== current) fail('conflicting content-length');
    current = v;
    start = comma + 1;
  }
  return current;
}

/** True when the last coding is exactly `chunked` and no earlier one is (RFC 9112 §6.3 rules 4 and 5). */
function chunkedIsFinal(codings: string[]): boolean {
  const n = codings.length;
  if (n === 0 || codings[n - 1] !== 'chunked') return false;
  for (let i = 0; i < n - 1; i++) {
    if (codings[i] === 'chunked' || codings[i]!.startsWith('chunked;')) fail('chunked applied more than once');
  }
  return true;
}
