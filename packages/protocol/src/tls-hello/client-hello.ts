/**
 * Reads the server name (SNI) out of a TLS ClientHello as it arrives on a socket, without terminating TLS.
 *
 * The ClientHello is one handshake message, but the record layer may cut it into several records (a large
 * post-quantum key share makes 2-record hellos common) and TCP may cut records anywhere. The caller keeps
 * the bytes it has read in one growing buffer and calls `parseClientHello` again after every read; each call
 * walks the record headers from the start, which costs a few comparisons per record.
 *
 * Strict on purpose: every length must agree with its container, nothing may run past its end, and the
 * message may not be larger than the caller's limit. When the whole message sits in one record (the usual
 * case) it is parsed in place; only a hello split over records is joined, once, when it is complete.
 */

/** Why a ClientHello was refused. `oversize` lets a server tell a too-large hello apart from a malformed one. */
export type TlsHelloErrorKind = 'not_tls' | 'invalid' | 'oversize';

export class TlsHelloError extends Error {
  constructor(readonly kind: TlsHelloErrorKind, message: string) {
    super(message);
  }
  override get name(): string {
    return 'TlsHelloError';
  }
}

export interface ClientHelloInfo {
  /** the SNI host name, lowercase; undefined when the hello has no server_name extension */
  serverName: string | undefined;
  /** legacy_version of the hello (0x0303 for TLS 1.2 and 1.3) */
  legacyVersion: number;
  /** bytes of the buffer taken by the records carrying the hello (what follows is the client's next data) */
  recordBytes: number;
}

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** RFC 8446 §5.1: a plaintext record fragment is at most 2^14 bytes */
const MAX_RECORD_FRAGMENT = 1 << 14;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
const MAX_HOST_NAME = 253;

function fail(kind: TlsHelloErrorKind, why: string): never {
  throw new TlsHelloError(kind, why);
}

/** Whether the first byte of a stream can start a TLS record carrying a handshake. */
export function looksLikeTls(firstByte: number): boolean {
  return firstByte === CONTENT_HANDSHAKE;
}

/**
 * Check what is there of the record header at `at` (up to 5 bytes); returns the fragment length once all 5
 * bytes are there, -1 before. A record other than the first that is not a handshake record means the client
 * interleaved something into its hello.
 */
function recordHeader(buf: Uint8Array, at: number): number {
  const first = at === 0;
  const have = buf.length - at;
  if (have <= 0) return -1;
  if (buf[at] !== CONTENT_HANDSHAKE) {
    fail(first ? 'not_tls' : 'invalid', first ? 'not a TLS handshake record' : `record of content type ${buf[at]} inside the ClientHello`);
  }
  // record versions 3.0 .. 3.4; clients send 3.1 in the first record, some 3.3 after
  if (have > 1 && buf[at + 1] !== 0x03) fail(first ? 'not_tls' : 'invalid', 'bad record version');
  if (have > 2 && buf[at + 2]! > 0x04) fail(first ? 'not_tls' : 'invalid', 'bad record version');
  if (have < RECORD_HEADER) return -1;
  const len = (buf[at + 3]! << 8) | buf[at + 4]!;
  // RFC 8446 §5.1: zero-length handshake fragments are not allowed
  if (len === 0) fail('invalid', 'empty handshake record');
  if (len > MAX_RECORD_FRAGMENT) fail('invalid', `record of ${len} bytes exceeds 2^14`);
  return len;
}

/**
 * Parse a ClientHello from the bytes read so far. Returns null when more bytes are needed, the hello's facts
 * once it is complete, and throws TlsHelloError when the bytes cannot be (or grow into) a ClientHello of at
 * most `maxSize` bytes (handshake header included; g3's `tls_max_client_hello_size`).
 */
export function parseClientHello(buf: Uint8Array, maxSize: number): ClientHelloInfo | null {
  if (buf.length === 0) return null;
  // a hello cut into many more records than its size needs is hostile; leave slack for clients that cut small
  const maxRecords = Math.ceil(maxSize / MAX_RECORD_FRAGMENT) + 64;
  let at = 0;
  let records = 0;
  /** handshake bytes carried by the records walked so far (the last one possibly partial) */
  let hsBytes = 0;
  /** handshake message length, header included; -1 until its 4-byte header has been seen */
  let msgLen = -1;
  let h0 = 0;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  for (;;) {
    const fragLen = recordHeader(buf, at);
    if (fragLen < 0) return null;
    if (++records > maxRecords) fail('invalid', `ClientHello split over more than ${maxRecords} records`);
    const fragStart = at + RECORD_HEADER;
    const avail = Math.min(fragLen, buf.length - fragStart);
    // the handshake header may itself be split over records: pick its bytes up by handshake offset
    for (let k = hsBytes; k < HANDSHAKE_HEADER && k < hsBytes + avail; k++) {
      const b = buf[fragStart + (k - hsBytes)]!;
      if (k === 0) h0 = b;
      else if (k === 1) h1 = b;
      else if (k === 2) h2 = b;
      else h3 = b;
    }
    const before = hsBytes;
    hsBytes += avail;
    if (msgLen < 0 && hsBytes >= HANDSHAKE_HEADER) {
      if (h0 !== HANDSHAKE_CLIENT_HELLO) fail('invalid', `handshake message type ${h0} is not ClientHello`);
      msgLen = HANDSHAKE_HEADER + ((h1 << 16) | (h2 << 8) | h3);
      if (msgLen > maxSize) fail('oversize', `ClientHello of ${msgLen} bytes exceeds the limit of ${maxSize}`);
    }
    if (msgLen >= 0) {
      // a client sends nothing after its hello until the server answers: a record holding more is malformed
      if (before + fragLen > msgLen) fail('invalid', 'data after the ClientHello in its last record');
      if (before + fragLen === msgLen) {
        if (avail < fragLen) return null;
        return complete(buf, msgLen, records, fragStart + fragLen);
      }
    }
    if (avail < fragLen) return null;
    at = fragStart + fragLen;
  }
}

function complete(buf: Uint8Array, msgLen: number, records: number, end: number): ClientHelloInfo {
  let body: Uint8Array;
  if (records === 1) {
    body = buf.subarray(RECORD_HEADER + HANDSHAKE_HEADER, RECORD_HEADER + msgLen);
  } else {
    // join the fragments once; the handshake header is skipped as it is copied
    body = new Uint8Array(msgLen - HANDSHAKE_HEADER);
    let at = 0;
    let hs = 0;
    while (at < end) {
      const len = (buf[at + 3]! << 8) | buf[at + 4]!;
      const from = at + RECORD_HEADER;
      const skip = hs < HANDSHAKE_HEADER ? Math.min(HANDSHAKE_HEADER - hs, len) : 0;
      if (skip < len) body.set(buf.subarray(from + skip, from + len), hs + skip - HANDSHAKE_HEADER);
      hs += len;
      at = from + len;
    }
  }
  return parseBody(body, end);
}

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

/** Bit per extension type, reused across calls (parsing is synchronous) and cleared after each hello. */
const seenExt = new Uint8Array(65536 >> 3);

/** RFC 8446 §4.1.2 ClientHello body (after the handshake header). */
function parseBody(b: Uint8Array, recordBytes: number): ClientHelloInfo {
  const end = b.length;
  // legacy_version(2) random(32) session_id<0..32>
  if (end < 2 + 32 + 1) fail('invalid', 'ClientHello too short');
  const legacyVersion = u16(b, 0);
  if (b[0] !== 0x03) fail('invalid', `ClientHello version ${legacyVersion.toString(16)} is not TLS`);
  let i = 34;
  const sid = b[i]!;
  if (sid > 32) fail('invalid', `session id of ${sid} bytes`);
  i += 1 + sid;
  // cipher_suites<2..2^16-2>
  if (i + 2 > end) fail('invalid', 'ClientHello ends before its cipher suites');
  const cs = u16(b, i);
  if (cs < 2 || cs % 2 !== 0) fail('invalid', `cipher suites length ${cs}`);
  i += 2 + cs;
  // legacy_compression_methods<1..2^8-1>
  if (i + 1 > end) fail('invalid', 'ClientHello ends before its compression methods');
  const cm = b[i]!;
  if (cm < 1) fail('invalid', 'no compression method');
  i += 1 + cm;
  if (i > end) fail('invalid', 'compression methods run past the ClientHello');
  // extensions are optional before TLS 1.3 (the body then ends here)
  if (i === end) return { serverName: undefined, legacyVersion, recordBytes };
  if (i + 2 > end) fail('invalid', 'truncated extensions length');
  const extLen = u16(b, i);
  i += 2;
  if (i + extLen !== end) fail('invalid', `extensions length ${extLen} disagrees with the ClientHello length`);
  let serverName: string | undefined;
  const start = i;
  try {
    while (i < end) {
      if (i + 4 > end) fail('invalid', 'truncated extension header');
      const type = u16(b, i);
      const len = u16(b, i + 2);
      i += 4;
      if (i + len > end) fail('invalid', `extension ${type} runs past the ClientHello`);
      // RFC 8446 §4.2: at most one extension of each type
      const bit = 1 << (type & 7);
      if (seenExt[type >> 3]! & bit) fail('invalid', `extension ${type} appears twice`);
      seenExt[type >> 3]! |= bit;
      if (type === EXT_SERVER_NAME) serverName = parseServerName(b, i, i + len);
      i += len;
    }
  } finally {
    // clear only what this hello set
    for (let j = start; j + 4 <= i && j + 4 <= end; j += 4 + u16(b, j + 2)) seenExt[u16(b, j) >> 3] = 0;
  }
  return { serverName, legacyVersion, recordBytes };
}

/** RFC 6066 §3 server_name extension: ServerNameList<1..2^16-1> of {name_type, HostName<1..2^16-1>}. */
function parseServerName(b: Uint8Array, from: number, to: number): string | undefined {
  // RFC 6066 allows an empty extension in the server's reply only; a client sends a list
  if (to - from < 2) fail('invalid', 'server_name extension too short');
  const listLen = u16(b, from);
  if (from + 2 + listLen !== to || listLen === 0) fail('invalid', 'server_name list length disagrees with its extension');
  let i = from + 2;
  let host: string | undefined;
  while (i < to) {
    if (i + 3 > to) fail('invalid', 'truncated server_name entry');
    const nameType = b[i]!;
    const len = u16(b, i + 1);
    i += 3;
    if (i + len > to) fail('invalid', 'server name runs past its list');
    if (nameType === NAME_TYPE_HOST) {
      // "The ServerNameList MUST NOT contain more than one name of the same name_type."
      if (host !== undefined) fail('invalid', 'two host names in server_name');
      host = hostName(b, i, i + len);
    }
    i += len;
  }
  return host;
}

/**
 * An SNI HostName: ASCII letters, digits, '-', '_' and '.', no empty label, no trailing dot, no IP literal
 * (RFC 6066 §3), at most 253 bytes. Returned lowercase.
 */
function hostName(b: Uint8Array, from: number, to: number): string {
  const len = to - from;
  if (len === 0 || len > MAX_HOST_NAME) fail('invalid', `server name of ${len} bytes`);
  let labelLen = 0;
  let labelDigitsOnly = true;
  let out = '';
  for (let i = from; i < to; i++) {
    let c = b[i]!;
    if (c === 0x2e) {
      if (labelLen === 0) fail('invalid', 'empty label in server name');
      labelLen = 0;
      labelDigitsOnly = true;
    } else {
      const digit = c >= 0x30 && c <= 0x39;
      const upper = c >= 0x41 && c <= 0x5a;
      const ok = digit || upper || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f;
      if (!ok) fail('invalid', `byte 0x${c.toString(16)} in server name`);
      if (upper) c += 0x20;
      if (!digit) labelDigitsOnly = false;
      if (++labelLen > 63) fail('invalid', 'server name label longer than 63 bytes');
    }
    out += String.fromCharCode(c);
  }
  if (labelLen === 0) fail('invalid', 'server name ends with a dot');
  // a name whose last label is all digits is an IPv4 literal (or nothing valid): not allowed as SNI
  if (labelDigitsOnly) fail('invalid', 'IP literal as server name');
  return out;
}
