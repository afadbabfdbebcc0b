import { SP, TOKEN, isOws, isToken } from './chars.js';
import { DEFAULT_HTTP_LIMITS, HttpParseError, type HttpLimits } from './errors.js';
import { parseDecimalLength, parseFieldLines, pushListElements, type HttpHeader } from './fields.js';
import { checkHeadEnd, parseHttpVersion } from './start-line.js';

/** RFC 9112 §3.2 request-target forms. */
export type TargetForm = 'origin' | 'absolute' | 'authority' | 'asterisk';

export interface RequestHead {
  method: string;
  /** As received; validate with parseAbsoluteTarget / parseAuthorityForm according to `targetForm`. */
  target: string;
  /** 'authority' for every CONNECT; 'absolute' means `scheme://...`. */
  targetForm: TargetForm;
  versionMinor: 0 | 1;
  headers: HttpHeader[];
  /** 'none' also covers `Content-Length: 0`. */
  bodyKind: 'none' | 'length' | 'chunked';
  /** Body length when bodyKind is 'length', else 0. */
  contentLength: number;
  keepAlive: boolean;
  /** `Expect: 100-continue` on an HTTP/1.1 request (HTTP/1.0 ones are ignored, RFC 9110 §10.1.1). */
  expectContinue: boolean;
  /** An Expect value other than 100-continue; the server decides whether to answer 417. */
  expectOther: boolean;
  /** Lowercase tokens of all Connection fields. */
  connectionTokens: string[];
  /** The Host field value, if present. */
  host: string | undefined;
  headBytes: number;
}

function fail(detail: string, status = 400): never {
  throw new HttpParseError(status, detail);
}

/**
 * Parses a request head (as returned by HeadReader: start line through CRLFCRLF), strictly per RFC 9110/9112.
 * Every framing ambiguity that could let a client smuggle a second request past the proxy is refused.
 */
export function parseRequestHead(head: Buffer, limits: HttpLimits = DEFAULT_HTTP_LIMITS): RequestHead {
  // One latin1 string for the whole head: later slices are cheap views and char codes stay below 256.
  const s = head.toString('latin1');
  checkHeadEnd(s, 400);
  const le = s.indexOf('\r\n');

  let sp1 = 0;
  while (TOKEN[head[sp1]!] === 1) sp1++;
  if (head[sp1] !== SP) fail(sp1 === le ? 'malformed request line' : 'invalid method');
  if (sp1 === 0) fail('invalid method');
  const sp2 = s.lastIndexOf(' ', le - 1);
  if (sp2 === sp1) fail('malformed request line');
  const versionMinor = parseHttpVersion(s, sp2 + 1, le, 400, 505);

  const tStart = sp1 + 1;
  const tLen = sp2 - tStart;
  if (tLen === 0) fail('empty request-target');
  if (tLen > limits.maxUriLength) fail('request-target too long', 414);
  for (let i = tStart; i < sp2; i++) {
    const c = head[i]!;
    if (c <= SP || c >= 0x7f) fail(c === SP ? 'whitespace in request-target' : 'invalid character in request-target');
    // No request-target form has a fragment; upstreams disagree on what to do with one.
    if (c === 0x23) fail('fragment in request-target');
  }
  const method = s.slice(0, sp1);
  const target = s.slice(tStart, sp2);
  const targetForm = classifyTarget(method, s, tStart, sp2);

  const headers: HttpHeader[] = [];
  parseFieldLines(head, s, le + 2, s.length - 2, headers, limits.maxHeaderCount, false, 400);

  let clCount = 0;
  let contentLength = 0;
  let codings: string[] | null = null;
  let hostCount = 0;
  let host: string | undefined;
  let expect: string[] | null = null;
  const connectionTokens: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    switch (h.lname) {
      case 'content-length': {
        // Even equal duplicates are refused: some other hop may pick the other one.
        if (++clCount > 1) fail('duplicate content-length');
        const v = parseDecimalLength(h.value, 0, h.value.length);
        if (v === -2) fail('content-length too large');
        if (v < 0) fail(h.value.length === 0 ? 'empty content-length' : 'invalid content-length');
        contentLength = v;
        break;
      }
      case 'transfer-encoding':
        if (h.value.length === 0) fail('empty transfer-encoding');
        if (codings === null) codings = [];
        pushListElements(h.value, codings);
        break;
      case 'host':
        if (++hostCount > 1) fail('duplicate host');
        host = h.value;
        break;
      case 'connection':
        pushListElements(h.value, connectionTokens);
        break;
      case 'expect':
        if (expect === null) expect = [];
        pushListElements(h.value, expect);
        break;
    }
  }

  let bodyKind: RequestHead['bodyKind'] = 'none';
  if (codings !== null) {
    if (clCount > 0) fail('content-length with transfer-encoding');
    if (versionMinor === 0) fail('transfer-encoding in HTTP/1.0');
    checkRequestCodings(codings);
    bodyKind = 'chunked';
  } else if (contentLength > 0) {
    bodyKind = 'length';
  }
  if (targetForm === 'authority' && bodyKind !== 'none') fail('content in CONNECT request');
  if (versionMinor === 1 && hostCount === 0 && targetForm !== 'absolute' && targetForm !== 'authority') {
    fail('missing host');
  }

  let close = false;
  let keepAliveToken = false;
  for (let i = 0; i < connectionTokens.length; i++) {
    const t = connectionTokens[i]!;
    if (t === 'close') close = true;
    else if (t === 'keep-alive') keepAliveToken = true;
    else if (!isToken(t)) fail('invalid connection option');
  }

  let expectContinue = false;
  let expectOther = false;
  if (expect !== null) {
    for (let i = 0; i < expect.length; i++) {
      if (expect[i] === '100-continue') expectContinue = versionMinor === 1;
      else expectOther = true;
    }
  }

  return {
    method,
    target,
    targetForm,
    versionMinor,
    headers,
    bodyKind,
    contentLength: bodyKind === 'length' ? contentLength : 0,
    keepAlive: versionMinor === 1 ? !close : keepAliveToken && !close,
    expectContinue,
    expectOther,
    connectionTokens,
    host,
    headBytes: head.length,
  };
}

function classifyTarget(method: string, s: string, start: number, end: number): TargetForm {
  if (method === 'CONNECT') return 'authority';
  const c0 = s.charCodeAt(start);
  if (c0 === 0x2f) return 'origin';
  if (c0 === 0x2a && end - start === 1) {
    if (method !== 'OPTIONS') fail('asterisk-form outside OPTIONS');
    return 'asterisk';
  }
  // absolute-form as a proxy meets it: scheme "://" (RFC 3986 scheme characters).
  if (isAlpha(c0)) {
    let i = start + 1;
    while (i < end && isSchemeChar(s.charCodeAt(i))) i++;
    if (s.startsWith('://', i)) return 'absolute';
  }
  return fail('invalid request-target');
}

function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isSchemeChar(c: number): boolean {
  return isAlpha(c) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/**
 * RFC 9112 §6.1/§6.3: a request's codings must end with exactly one chunked; the proxy relays no other coding,
 * so anything else it cannot frame is 501.
 */
function checkRequestCodings(codings: string[]): void {
  if (codings.length === 0) fail('empty transfer-encoding');
  let chunked = 0;
  let unsupported = false;
  for (let i = 0; i < codings.length; i++) {
    const c = codings[i]!;
    const semi = c.indexOf(';');
    let nameEnd = semi === -1 ? c.length : semi;
    while (nameEnd > 0 && isOws(c.charCodeAt(nameEnd - 1))) nameEnd--;
    if (!isToken(c, 0, nameEnd)) fail('invalid transfer-coding');
    if (nameEnd === 7 && c.startsWith('chunked')) {
      if (semi !== -1) fail('chunked with parameters');
      chunked++;
    } else {
      unsupported = true;
    }
  }
  if (chunked > 1) fail('chunked applied more than once');
  if (chunked === 1 && codings[codings.length - 1] !== 'chunked') fail('chunked is not the final transfer-coding');
  if (unsupported) fail('unsupported transfer-coding', 501);
}
