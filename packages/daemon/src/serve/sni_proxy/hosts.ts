/**
 * `allowed_hosts` (alias `allowed_sites`) of sni_proxy: g3's host-matched objects. Each entry names hosts with
 * `exact_match` (hosts or IPs), `child_match` (parent domains) or `set_default` (an entry with no match key is
 * the default), and may rewrite the destination with `redirect_host` / `redirect_port`. When the map is set,
 * a host it does not match is refused.
 */
import { normalizeIp, parseDomain, parseHost, ValueError, type Host } from '@sluice/common';
import type { Upstream } from '../../task/task.js';

export interface SniHost {
  readonly redirectHost: Host | undefined;
  readonly redirectPort: number | undefined;
}

export class SniHostMatch {
  private readonly exact = new Map<string, SniHost>();
  /** child domains with a leading dot, longest first, so `example.org` never matches `xexample.org` */
  private readonly children: Array<[string, SniHost]> = [];
  defaultHost: SniHost | undefined;

  addExact(host: string, h: SniHost): void {
    if (this.exact.has(host)) throw new ValueError(`host ${host} is matched by two entries`);
    this.exact.set(host, h);
  }

  addChild(domain: string, h: SniHost): void {
    const suffix = `.${domain}`;
    if (this.children.some(([s]) => s === suffix)) throw new ValueError(`child domain ${domain} is matched by two entries`);
    this.children.push([suffix, h]);
    this.children.sort((a, b) => b[0].length - a[0].length);
  }

  /** The entry for a host (lowercase domain or canonical IP), else the default entry. */
  get(host: string): SniHost | undefined {
    const e = this.exact.get(host);
    if (e) return e;
    for (const [suffix, h] of this.children) if (host.endsWith(suffix)) return h;
    return this.defaultHost;
  }
}

/** The destination after an entry's redirection: a new host keeps the asked port unless redirect_port is set. */
export function redirect(h: SniHost, u: Upstream): Upstream {
  if (h.redirectHost) return { host: h.redirectHost.host, port: h.redirectPort ?? u.port, ipFamily: h.redirectHost.ipFamily };
  if (h.redirectPort !== undefined) return { host: u.host, port: h.redirectPort, ipFamily: u.ipFamily };
  return u;
}

const ENTRY_KEYS = ['exact_match', 'child_match', 'set_default', 'redirect_host', 'redirect_port'];

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

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
  const hm = new SniHostMatch();
  list(v).forEach((raw, index) => {
    const path = Array.isArray(v) ? [String(index)] : [];
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValueError('a host entry must be a map');
      const m: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(raw)) {
        const key = k.toLowerCase().replace(/-/g, '_');
        if (!ENTRY_KEYS.includes(key)) throw new ValueError(`unknown key '${k}' in host entry (known: ${ENTRY_KEYS.join(', ')})`, [k]);
        m[key] = val;
      }
      const h = entryOf(m);
      let matched = false;
      if (m.exact_match !== undefined) {
        for (const x of list(m.exact_match)) hm.addExact(parseHost(x).host, h);
        matched = true;
      }
      if (m.child_match !== undefined) {
        for (const d of list(m.child_match)) hm.addChild(parseDomain(d, true), h);
        matched = true;
      }
      if (m.set_default !== undefined && typeof m.set_default !== 'boolean') throw new ValueError('set_default must be a bool', ['set_default']);
      if (m.set_default === true || !matched) {
        if (hm.defaultHost) throw new ValueError('a default host entry is already set');
        hm.defaultHost = h;
      }
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(e.message, [...path, ...(e.path ?? [])]);
      throw e;
    }
  });
  return hm;
}

/** The lookup key of a requested host: canonical IP text or a lowercase domain without a trailing dot. */
export function hostKey(host: string): string {
  return normalizeIp(host) ?? host.toLowerCase().replace(/\.$/, '');
}
