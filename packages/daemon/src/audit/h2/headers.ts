/** Header blocks as they cross the interceptor: hop-by-hop fields dropped, everything else (pseudo headers too) kept. */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

/**
 * Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2). nghttp2 already rejects them on receipt, so
 * this only matters for blocks built by hand, but node:http2 throws on sending one, and a throw here would
 * cost the stream.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * A copy of `src` fit to send on the other session. `drop` names one more field to leave out (the `Expect`
 * header when it is dropped silently). Sensitive-header marks (never-indexed HPACK fields) are carried over.
 */
export function forwardHeaders(src: IncomingHttpHeaders, drop?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (HOP_BY_HOP.has(name) || name === drop) continue;
    const value = src[name];
    if (value === undefined) continue;
    // `te` may only say `trailers` in HTTP/2
    if (name === 'te' && value !== 'trailers') continue;
    out[name] = value;
  }
  const sensitive = (src as Record<symbol, unknown>)[http2.sensitiveHeaders];
  if (Array.isArray(sensitive) && sensitive.length > 0) (out as Record<symbol, unknown>)[http2.sensitiveHeaders] = sensitive;
  return out;
}

/** The target URI as g3 logs an HTTP/2 request (`scheme://authority/path`), cut to `maxChars` characters. */
export function requestUri(h: IncomingHttpHeaders, maxChars: number): string {
  const scheme = h[':scheme'];
  const authority = h[':authority'] ?? h['host'] ?? '';
  const path = h[':path'] ?? '';
  const uri = scheme ? `${scheme}://${authority}${path}` : `${authority}${path}`;
  return uri.length > maxChars ? uri.slice(0, maxChars) : uri;
}

/** `host:port` of a standard CONNECT's authority, with g3's default port 443 when none is given. */
export function connectTarget(authority: string | undefined): string | undefined {
  if (!authority) return undefined;
  if (authority.startsWith('[')) return authority.includes(']:') ? authority : `${authority}:443`;
  const colon = authority.lastIndexOf(':');
  return colon > 0 && authority.indexOf(':') === colon ? authority : `${authority}:443`;
}
