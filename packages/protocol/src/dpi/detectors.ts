/**
 * One small detector per application protocol, each a pure function over the first bytes one side of a TCP
 * stream sent. A detector answers with the protocol, NO (these bytes cannot start this protocol), or how many
 * more bytes it needs at least. Detectors reject as early as the bytes allow so a stream of another protocol
 * never waits on them. The checks follow the protocols' opening messages (RFC 8446 ClientHello record, RFC 9112
 * request line, RFC 9113 preface, RFC 4253 version exchange, greeting lines of FTP/SMTP/POP3/IMAP/NNTP, ...).
 */

/** g3's names for detected protocols, as written in the Inspect log's `protocol` field. */
export type DetectedProtocol =
  | 'ssl_legacy' | 'tls_legacy' | 'tls_modern' | 'tls_tlcp'
  | 'http_1' | 'http_2'
  | 'smtp' | 'ssh_legacy' | 'ssh' | 'ftp_control' | 'pop3' | 'nntp' | 'imap'
  | 'rtsp' | 'mqtt' | 'stomp' | 'smpp' | 'rtmp' | 'nats' | 'bittorrent' | 'dns' | 'ldap';

/** A detector's answer: a protocol, NO, or the number of further bytes it needs at least (> 0). */
export type Verdict = DetectedProtocol | typeof NO | number;
export const NO = 'no' as const;

export interface DetectLimits {
  ftpGreetingMsg: number;
  httpRequestUri: number;
  imapGreetingMsg: number;
  natsInfoLine: number;
  ldapRequestMsg: number;
}

/** g3's data0_size_limit defaults. */
export const DEFAULT_DETECT_LIMITS: Readonly<DetectLimits> = Object.freeze({
  ftpGreetingMsg: 512,
  httpRequestUri: 4096,
  imapGreetingMsg: 512,
  natsInfoLine: 1024,
  ldapRequestMsg: 1024,
});

export type Detector = (d: Uint8Array, limits: DetectLimits) => Verdict;

const startsWith = (d: Uint8Array, s: string, at = 0): boolean => {
  const n = Math.min(s.length, d.length - at);
  for (let i = 0; i < n; i++) if (d[at + i] !== s.charCodeAt(i)) return false;
  return true;
};
/** true when `d` holds all of `s` at `at`; false when it differs; the count missing when it is a prefix */
const expect = (d: Uint8Array, s: string, at = 0): boolean | number => {
  if (!startsWith(d, s, at)) return false;
  return d.length - at >= s.length ? true : s.length - (d.length - at);
};
const indexOf = (d: Uint8Array, byte: number, from = 0): number => {
  for (let i = from; i < d.length; i++) if (d[i] === byte) return i;
  return -1;
};
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

// ---- TLS / SSL ---------------------------------------------------------------------------------------------

function tlsVersion(b0: number, b1: number): DetectedProtocol | undefined {
  if (b0 === 1 && b1 === 1) return 'tls_tlcp';
  if ((b0 === 2 || b0 === 3) && b1 === 0) return 'ssl_legacy';
  if (b0 === 3 && (b1 === 1 || b1 === 2)) return 'tls_legacy';
  if (b0 === 3 && (b1 === 3 || b1 === 4)) return 'tls_modern';
  return undefined;
}

/**
 * A handshake record whose first message is a ClientHello; the protocol comes from client_version (TLS 1.3
 * says 3,3 there too). The record version must be a known one and the fragment 1..2^14 bytes. When the first
 * record is shorter than the handshake header, the header continues in the next record(s).
 */
export const detectTlsClientHello: Detector = (d) => {
  if (d.length < 1) return 5;
  if (d[0] !== 22) return NO;
  if (d.length < 3) return 5 - d.length;
  if (!tlsVersion(d[1]!, d[2]!) || d[2] === 4) return NO;
  if (d.length < 5) return 5 - d.length;
  // gather the 6 bytes msg_type(1) length(3) client_version(2) across records
  const hdr: number[] = [];
  let off = 0;
  let firstLen = 0;
  while (hdr.length < 6) {
    if (d.length < off + 5) return off + 5 - d.length;
    if (d[off] !== 22 || !tlsVersion(d[off + 1]!, d[off + 2]!)) return NO;
    const len = (d[off + 3]! << 8) | d[off + 4]!;
    if (len === 0 || len > 16384) return NO;
    if (off === 0) firstLen = len;
    const take = Math.min(len, 6 - hdr.length);
    if (d.length < off + 5 + take) return off + 5 + take - d.length;
    for (let i = 0; i < take; i++) hdr.push(d[off + 5 + i]!);
    off += 5 + len;
  }
  if (hdr[0] !== 1) return NO; // ClientHello
  const bodyLen = (hdr[1]! << 16) | (hdr[2]! << 8) | hdr[3]!;
  // the first record may only hold this one handshake message
  if (bodyLen + 4 < firstLen) return NO;
  return tlsVersion(hdr[4]!, hdr[5]!) ?? NO;
};

// ---- HTTP --------------------------------------------------------------------------------------------------

const HTTP_METHODS = [
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'ACL', 'BIND', 'BASELINE-CONTROL', 'COPY', 'CHECKIN', 'CHECKOUT', 'LOCK', 'LINK', 'LABEL',
  'MOVE', 'MKCOL', 'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKREDIRECTREF', 'MKWORKSPACE', 'ORDERPATCH',
  'PROPFIND', 'PROPPATCH', 'REPORT', 'REBIND', 'SEARCH', 'SOURCE', 'UNLOCK', 'UNBIND', 'UNCHECKOUT',
  'UNLINK', 'UPDATE', 'UPDATEREDIRECTREF', 'VERSION-CONTROL',
];
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** `METHOD SP target SP HTTP/1.x CRLF`, or the HTTP/2 connection preface (prior knowledge, h2c). */
export const detectHttpRequest: Detector = (d, limits) => {
  if (d.length === 0) return 18;
  const pre = expect(d, H2_PREFACE);
  if (pre === true) return 'http_2';
  if (typeof pre === 'number') return pre;
  let method: string | undefined;
  let partial = false;
  for (const m of HTTP_METHODS) {
    const r = expect(d, m + ' ');
    if (r === true) {
      method = m;
      break;
    }
    if (typeof r === 'number') partial = true;
  }
  if (!method) return partial ? Math.max(1, 18 - d.length) : NO;
  const uriStart = method.length + 1;
  const sp = indexOf(d, SP, uriStart);
  if (sp < 0) return d.length - uriStart > limits.httpRequestUri ? NO : Math.max(1, uriStart + 14 - d.length);
  if (sp === uriStart) return NO;
  const v = expect(d, 'HTTP/1.', sp + 1);
  if (v === false) return NO;
  if (typeof v === 'number') return v + 3;
  const at = sp + 8;
  if (d.length < at + 3) return at + 3 - d.length;
  if ((d[at] !== 0x30 && d[at] !== 0x31) || d[at + 1] !== CR || d[at + 2] !== LF) return NO;
  return 'http_1';
};

// ---- SSH ---------------------------------------------------------------------------------------------------

/** RFC 4253 §4.2 `SSH-protoversion-softwareversion CR LF` (1.99 and SSH-1 may end with a bare LF). */
export const detectSsh: Detector = (d) => {
  const p = expect(d, 'SSH-');
  if (p === false) return NO;
  if (d.length < 11) return 11 - d.length;
  let proto: DetectedProtocol;
  let dash = 7;
  if (d[4] === 0x32 && d[5] === 0x2e) {
    if (d[6] !== 0x30) return NO;
    proto = 'ssh';
  } else if (d[4] === 0x31 && d[5] === 0x2e) {
    if (d[6] === 0x39 && d[7] === 0x39) {
      proto = 'ssh';
      dash = 8;
    } else if (d[6]! >= 0x30 && d[6]! <= 0x39) proto = 'ssh_legacy';
    else return NO;
  } else return NO;
  if (d[dash] !== 0x2d) return NO;
  const lf = indexOf(d, LF, dash);
  if (lf < 0) return d.length < 255 ? 1 : NO;
  if (dash === 7 && d[lf - 1] !== CR) return NO;
  return proto;
};

// ---- server greetings ----------------------------------------------------------------------------------------

/** `code SP|- text CRLF` with a greeting code (FTP 120/220/421; RFC 959 §5.4). */
export const detectFtpGreeting: Detector = (d, limits) => {
  if (d.length < 3) {
    if (d.length >= 1 && !'124'.includes(String.fromCharCode(d[0]!))) return NO;
    return 6 - d.length;
  }
  const code = String.fromCharCode(d[0]!, d[1]!, d[2]!);
  if (code !== '120' && code !== '220' && code !== '421') return NO;
  if (d.length < 6) return 6 - d.length;
  if (d[3] !== SP && d[3] !== 0x2d) return NO;
  if (indexOf(d, LF, 4) >= 0) return 'ftp_control';
  return d.length - 4 > limits.ftpGreetingMsg ? NO : 1;
};

/** SMTP greeting `220 domain ...` or `554 ...` (RFC 5321 §4.2), the first word a host name or address literal. */
export const detectSmtpGreeting: Detector = (d) => {
  if (d.length < 3) {
    if (d.length >= 1 && d[0] !== 0x32 && d[0] !== 0x35) return NO;
    return 7 - d.length;
  }
  const code = String.fromCharCode(d[0]!, d[1]!, d[2]!);
  if (code !== '220' && code !== '554') return NO;
  if (d.length < 7) return 7 - d.length;
  if (d[3] !== SP && d[3] !== 0x2d) return NO;
  const lf = indexOf(d, LF, 4);
  if (lf < 0) return d.length - 4 > 512 ? NO : 1;
  if (lf < 5 || d[lf - 1] !== CR) return NO;
  let end = indexOf(d, SP, 4);
  if (end < 0 || end > lf - 1) end = lf - 1;
  const host = Buffer.from(d.subarray(4, end)).toString('latin1');
  return /^(\[[0-9A-Fa-f:.]+\]|\[IPv6:[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)$/.test(host)
    ? 'smtp' : NO;
};

/** POP3 `+OK ... CRLF` (RFC 1939 §4), at most 512 bytes. */
export const detectPop3Greeting: Detector = (d) => {
  const p = expect(d, '+OK');
  if (p === false) return NO;
  if (d.length < 5) return 5 - d.length;
  if (d.length > 512) return NO;
  const lf = indexOf(d, LF);
  if (lf < 0) return 1;
  return d[lf - 1] === CR ? 'pop3' : NO;
};

/** IMAP `* OK|PREAUTH|BYE ... CRLF` (RFC 9051 §7.1). */
export const detectImapGreeting: Detector = (d, limits) => {
  const p = expect(d, '* ');
  if (p === false) return NO;
  if (d.length < 6) {
    if (d.length >= 3 && !'OPB'.includes(String.fromCharCode(d[2]!))) return NO;
    return 6 - d.length;
  }
  let ok: boolean | number;
  if (d[2] === 0x4f) ok = expect(d, 'OK', 2);
  else if (d[2] === 0x50) ok = expect(d, 'PREAUTH', 2);
  else if (d[2] === 0x42) ok = expect(d, 'BYE', 2);
  else return NO;
  if (ok === false) return NO;
  if (typeof ok === 'number') return ok;
  const lf = indexOf(d, LF);
  if (lf < 0) return d.length - 4 > limits.imapGreetingMsg ? NO : 1;
  return d[lf - 1] === CR ? 'imap' : NO;
};

/** NNTP `200|201 ... CRLF` (RFC 3977 §5.1.1), at most 512 bytes. */
export const detectNntpGreeting: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 0x32) return NO;
  if (d.length >= 2 && d[1] !== 0x30) return NO;
  if (d.length >= 3 && d[2] !== 0x30 && d[2] !== 0x31) return NO;
  if (d.length < 5) return 5 - d.length;
  if (d.length > 512) return NO;
  const lf = indexOf(d, LF);
  if (lf < 0) return 1;
  return d[lf - 1] === CR ? 'nntp' : NO;
};

/** NATS server `INFO {json} CRLF`. */
export const detectNatsInfo: Detector = (d, limits) => {
  const p = expect(d, 'INFO {');
  if (p === false) return NO;
  if (d.length < 10) return 10 - d.length;
  const lf = indexOf(d, LF);
  if (lf < 0) return d.length > limits.natsInfoLine ? NO : 1;
  return d[lf - 1] === CR ? 'nats' : NO;
};

// ---- binary and other client-first protocols ------------------------------------------------------------------

/** BitTorrent handshake: 19, "BitTorrent protocol", 8 reserved bytes, info hash, peer id (68 bytes). */
export const detectBitTorrent: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 0x13) return NO;
  if (!startsWith(d, 'BitTorrent protocol', 1)) return NO;
  return d.length >= 68 ? 'bittorrent' : 68 - d.length;
};

/** DNS over TCP (RFC 1035 §4.2.2): a length prefix, then a query header (QR=0, no answers/authority/additional). */
export const detectDnsTcpQuery: Detector = (d) => {
  if (d.length < 14) return 14 - d.length;
  const len = (d[0]! << 8) | d[1]!;
  if (len < 12) return NO;
  if (d[4]! & 0x80) return NO;
  for (let i = 8; i < 14; i++) if (d[i] !== 0) return NO;
  return 'dns';
};

/** BER length after a tag: [value, bytes used] or the bytes missing (negative) or null when invalid. */
function berLength(d: Uint8Array, at: number): [number, number] | number | null {
  if (d.length <= at) return -1;
  const b = d[at]!;
  if (b < 0x80) return [b, 1];
  const n = b & 0x7f;
  if (n === 0 || n > 4) return null;
  if (d.length < at + 1 + n) return -(at + 1 + n - d.length);
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + d[at + 1 + i]!;
  return [v, 1 + n];
}

/** LDAP (RFC 4511 §4.1.1): SEQUENCE { messageID INTEGER (non-zero for requests), protocolOp ... }. */
export const detectLdapRequest: Detector = (d, limits) => {
  if (d.length >= 1 && d[0] !== 0x30) return NO;
  if (d.length < 5) return 5 - d.length;
  const l = berLength(d, 1);
  if (l === null) return NO;
  if (typeof l === 'number') return -l;
  const [len, used] = l;
  if (len > limits.ldapRequestMsg) return NO;
  const start = 1 + used;
  if (d.length < start + len) return start + len - d.length;
  // messageID: INTEGER, 1..4 bytes, positive
  if (d[start] !== 0x02) return NO;
  const idLen = d[start + 1]!;
  if (idLen < 1 || idLen > 4 || start + 2 + idLen > start + len) return NO;
  let id = 0;
  for (let i = 0; i < idLen; i++) id = id * 256 + d[start + 2 + i]!;
  if (d[start + 2]! & 0x80) return NO;
  return id === 0 ? NO : 'ldap';
};

/** MQTT CONNECT (v3.1.1 / v5): fixed header 0x10, remaining length, "\0\4MQTT", level 4 or 5. */
export const detectMqttConnect: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 0x10) return NO;
  if (d.length < 12) return 12 - d.length;
  if (d[1]! + 2 < 12) return NO;
  if (!startsWith(d, '\x00\x04MQTT', 2)) return NO;
  return d[8] === 4 || d[8] === 5 ? 'mqtt' : NO;
};

/** STOMP `CONNECT` or `STOMP` frame (STOMP 1.2). */
export const detectStompConnect: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 0x43 && d[0] !== 0x53) return NO;
  if (d.length < 10) {
    if (!startsWith(d, 'CONNECT') && !startsWith(d, 'STOMP')) return NO;
    return 10 - d.length;
  }
  const [cmdLen, after] = startsWith(d, 'CONNECT') && d.length > 7 ? [7, 2] : startsWith(d, 'STOMP') ? [5, 26] : [0, 0];
  if (cmdLen === 0) return NO;
  let off: number;
  if (d[cmdLen] === CR) {
    if (d[cmdLen + 1] !== LF) return NO;
    off = cmdLen + 2;
  } else if (d[cmdLen] === LF) off = cmdLen + 1;
  else return NO;
  return d.length >= off + after ? 'stomp' : off + after - d.length;
};

/** SMPP bind_transmitter/receiver/transceiver or outbind PDU with command_status 0 (SMPP 3.4 §4.1). */
export const detectSmppBind: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 0) return NO;
  if (d.length < 16) return 16 - d.length;
  const len = ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
  const id = ((d[4]! << 24) | (d[5]! << 16) | (d[6]! << 8) | d[7]!) >>> 0;
  if (len < 16) return NO;
  let min: number;
  let max: number;
  if (id === 1 || id === 2 || id === 9) [min, max] = [7, 16 + 9 + 13 + 1 + 1 + 1 + 41];
  else if (id === 0x0b) [min, max] = [2, 16 + 9];
  else return NO;
  const body = len - 16;
  if (body < min || body > max) return NO;
  for (let i = 8; i < 12; i++) if (d[i] !== 0) return NO;
  return 'smpp';
};

/** RTMP C0+C1: version 3, then 1536 bytes whose bytes 4..7 (after the time) are zero. */
export const detectRtmpHandshake: Detector = (d) => {
  if (d.length >= 1 && d[0] !== 3) return NO;
  if (d.length < 9) return 1537 - d.length;
  for (let i = 5; i < 9; i++) if (d[i] !== 0) return NO;
  return d.length >= 1537 ? 'rtmp' : 1537 - d.length;
};

/** RTSP `SETUP rtsp://...` request. */
export const detectRtspSetup: Detector = (d) => {
  const p = expect(d, 'SETUP rtsp://');
  if (p === false) return NO;
  return d.length >= 25 ? 'rtsp' : 25 - d.length;
};
