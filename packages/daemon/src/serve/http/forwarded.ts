/**
 * Headers a gateway adds on the way to the origin: `X-Forwarded-For` (classic) or RFC 7239 `Forwarded`
 * (standard, with `for` and `by`), and `Via` with a pseudonym (g3's `append_forwarded_for` and `server_id`).
 */
import { ValueError } from '@sluice/common';

export type ForwardedMode = 'none' | 'classic' | 'standard';

/** g3's http forwarded header type: `none` | `classic` | `standard` | bool (true = classic). */
export function parseForwardedMode(v: unknown): ForwardedMode {
  if (v === undefined || v === true) return 'classic';
  if (v === false) return 'none';
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'none' || s === 'disable' || s === 'off') return 'none';
    if (s === 'classic' || s === 'x-forwarded-for' || s === 'on') return 'classic';
    if (s === 'standard' || s === 'forwarded' || s === 'rfc7239') return 'standard';
  }
  throw new ValueError(`invalid forwarded header type ${JSON.stringify(v)} (none, classic, standard or a bool)`);
}

/** An RFC 7239 node: IPv6 socket addresses must be quoted (`"[::1]:80"`). */
function node(addr: string): string {
  return addr.startsWith('[') ? `"${addr}"` : addr;
}

/** The header line to append for a client, or '' for mode none. Addresses are `ip:port` / `[v6]:port`. */
export function forwardedLine(mode: ForwardedMode, clientIp: string, clientAddr: string, serverAddr: string): string {
  if (mode === 'classic') return `X-Forwarded-For: ${clientIp}\r\n`;
  if (mode === 'standard') return `Forwarded: for=${node(clientAddr)}; by=${node(serverAddr)}\r\n`;
  return '';
}

/** g3's server id: printable ASCII without ';' or ','. */
export function parseServerId(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new ValueError('server_id must be a non-empty string');
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x3b || c === 0x2c) throw new ValueError(`server_id '${v}' may only hold printable ASCII without ';' or ','`);
  }
  return v;
}

/** Whether a Via field value names `pseudonym` as one of its hops (then the request is looping through us). */
export function viaHasPseudonym(via: string, pseudonym: string): boolean {
  for (const hop of via.split(',')) {
    const parts = hop.trim().split(/\s+/);
    if (parts[1] === pseudonym) return true;
  }
  return false;
}
