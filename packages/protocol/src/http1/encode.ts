import { FIELD_VALUE, TOKEN, isToken } from './chars.js';

/** CRLF that closes each chunk's data. */
export const CHUNK_CRLF: Buffer = Buffer.from('\r\n', 'latin1');
/** The last chunk with no trailers: ends a chunked body. */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

// Chunk headers for sizes below this are built once and shared; relayed chunks are mostly socket-read sized.
const CACHED_CHUNK_HEADERS = 8192;
const chunkHeaderCache: (Buffer | undefined)[] = new Array(CACHED_CHUNK_HEADERS);

/**
 * The chunk-size line for `n` data bytes (`<hex>\r\n`). The returned Buffer may be shared: never modify it.
 * n must be at least 1: a zero-size chunk would end the body, use LAST_CHUNK for that.
 */
export function encodeChunkHeader(n: number): Buffer {
  if (n < CACHED_CHUNK_HEADERS && n >= 1 && Number.isInteger(n)) {
    return (chunkHeaderCache[n] ??= Buffer.from(n.toString(16) + '\r\n', 'latin1'));
  }
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`invalid chunk size ${n}`);
  return Buffer.from(n.toString(16) + '\r\n', 'latin1');
}

/**
 * Request head for an upstream: `METHOD target HTTP/1.1`, the given fields, the empty line. The proxy always
 * speaks HTTP/1.1 upstream. Names must be tokens and values free of controls (except HTAB) so nothing
 * injected into a value can split the head; violations throw TypeError.
 */
export function serializeRequestHead(
  method: string,
  target: string,
  headers: Iterable<readonly [string, string]>,
): Buffer {
  if (!isToken(method)) throw new TypeError(`invalid method ${JSON.stringify(method)}`);
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw new TypeError(`invalid request-target ${JSON.stringify(target)}`);
  }
  if (target.length === 0) throw new TypeError('empty request-target');
  return Buffer.from(appendFields(method + ' ' + target + ' HTTP/1.1\r\n', headers) + '\r\n', 'latin1');
}

/** Response head for a client: `HTTP/1.x status reason`, the fields, the empty line. Same checks as requests. */
export function serializeResponseHead(
  versionMinor: 0 | 1,
  status: number,
  reason: string,
  headers: Iterable<readonly [string, string]>,
): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new TypeError(`invalid status ${status}`);
  checkValue('reason phrase', reason);
  const line = (versionMinor === 0 ? 'HTTP/1.0 ' : 'HTTP/1.1 ') + status + ' ' + reason + '\r\n';
  return Buffer.from(appendFields(line, headers) + '\r\n', 'latin1');
}

/** The last chunk followed by trailer fields and the closing CRLF. */
export function serializeLastChunk(trailers: Iterable<readonly [string, string]>): Buffer {
  return Buffer.from(appendFields('0\r\n', trailers) + '\r\n', 'latin1');
}

function appendFields(s: string, headers: Iterable<readonly [string, string]>): string {
  for (const [name, value] of headers) {
    for (let i = 0; i < name.length; i++) {
      if (TOKEN[name.charCodeAt(i)] !== 1) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    }
    if (name.length === 0) throw new TypeError('empty header name');
    checkValue(name, value);
    s += name + ': ' + value + '\r\n';
  }
  return s;
}

function checkValue(what: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    // Codes above 255 read as undefined: they cannot be written as latin1 either.
    if (FIELD_VALUE[value.charCodeAt(i)] !== 1) throw new TypeError(`invalid character in ${what}`);
  }
}
