/**
 * `allowed_hosts` (alias `allowed_sites`) of sni_proxy: g3's host-matched objects (serve/host-match.ts) whose
 * entries may rewrite the destination with `redirect_host` / `redirect_port`. When the map is set, a host it
 * does not match is refused.
 */
import { parseHost, ValueError, type Host } from '@sluice/common';
import { hostKey, parseHostMatched, type HostMatch } from '../host-match.js';
import type { Upstream } from '../../task/task.js';

export interface SniHost {
  readonly redirectHost: Host | undefined;
  readonly redirectPort: number | undefined;
}

export type SniHostMatch = HostMatch<SniHost>;

/** The destination after an entry's redirection: a new host keeps the asked port unless redirect_port is set. */
export function redirect(h: SniHost, u: Upstream): Upstream {
  if (h.redirectHost) return { host: h.redirectHost.host, port: h.redirectPort ?? u.port, ipFamily: h.redirectHost.ipFamily };
  if (h.redirectPort !== undefined) return { host: u.host, port: h.redirectPort, ipFamily: u.ipFamily };
  return u;
}

const ENTRY_KEYS = ['redirect_host', 'redirect_port'];

function entryOf(m: Record<string, unknown>): SniHost {
  let redirectHost: Host | undefined;
  let redirectPort: number | undefined;
  if (m.redirect_host !== undefined) {
    try {
      redirectHost = parseHost(m.redirect_host);
    } catch (e) {
      throw new ValueError((e as Error).message, ['redirect_host']);
    }
  }
  if (m.redirect_port !== undefined) {
    const p = typeof m.redirect_port === 'string' ? Number(m.redirect_port) : m.redirect_port;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw new ValueError('redirect_port must be a port number (1..65535)', ['redirect_port']);
    redirectPort = p;
  }
  return Object.freeze({ redirectHost, redirectPort });
}

/** Parse `allowed_hosts`: one map or a list of maps. */
export function parseAllowedHosts(v: unknown): SniHostMatch {
  return parseHostMatched(v, ENTRY_KEYS, entryOf);
}

export { hostKey };
