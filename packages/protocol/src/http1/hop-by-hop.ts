/**
 * Fields that describe one connection, never forwarded (RFC 9110 §7.6.1), plus the legacy ones every proxy
 * drops: keep-alive, proxy-connection, and the proxy-auth pair that is meant for this proxy.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Whether a field (lowercase name) must not be forwarded: a fixed hop-by-hop field or one named in Connection. */
export function isHopByHop(lname: string, connectionTokens: readonly string[]): boolean {
  return HOP_BY_HOP.has(lname) || (connectionTokens.length > 0 && connectionTokens.includes(lname));
}
