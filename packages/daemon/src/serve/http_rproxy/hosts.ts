/**
 * `hosts` (alias `sites`) of http_rproxy: g3's host-matched objects. Each entry names the hosts it serves with
 * `exact_match` (hosts or IPs), `child_match` (domains whose subdomains it serves) and `set_default`; an entry
 * with no match key at all becomes the default. The rest of the entry is the site: `upstream` (port 80 unless
 * written), `tls_server` (certificate offered for this host's SNI), `tls_client` / `tls_name` (TLS to upstream).
 */
import { normalizeIp, parseDomain, parseHost, parseUpstreamAddr, ValueError, type UpstreamAddr } from '@sluice/common';
import { parseTlsClient, parseTlsServer, type TlsClientConfig, type TlsServerConfig } from '../../tls/tls-config.js';

export interface RProxySite {
  /** index of the entry in `hosts`, for messages and pooled-connection keys */
  readonly index: number;
  readonly upstream: UpstreamAddr;
  readonly tlsServer: TlsServerConfig | undefined;
  readonly tlsClient: TlsClientConfig | undefined;
  /** SNI and verify name for the upstream (default: the upstream host) */
  readonly tlsName: string;
}

export class HostMatch {
  private readonly exact = new Map<string, RProxySite>();
  /** child domains, stored with a leading dot so a suffix test can't match `xexample.org` for `example.org` */
  private readonly children: Array<[string, RProxySite]> = [];
  defaultSite: RProxySite | undefined;

  get size(): number {
    return this.exact.size + this.children.length + (this.defaultSite ? 1 : 0);
  }

  addExact(host: string, site: RProxySite): void {
    if (this.exact.has(host)) throw new ValueError(`host ${host} is matched by two entries`);
    this.exact.set(host, site);
  }

  addChild(domain: string, site: RProxySite): void {
    const suffix = `.${domain}`;
    if (this.children.some(([s]) => s === suffix)) throw new ValueError(`child domain ${domain} is matched by two entries`);
    this.children.push([suffix, site]);
    // the longest parent wins: keep more specific suffixes first
    this.children.sort((a, b) => b[0].length - a[0].length);
  }

  /** The site for a host (lowercase domain or canonical IP, no port), else the default. */
  get(host: string): RProxySite | undefined {
    const e = this.exact.get(host);
    if (e) return e;
    for (const [suffix, site] of this.children) if (host.endsWith(suffix)) return site;
    return this.defaultSite;
  }
}

const SITE_KEYS = ['exact_match', 'child_match', 'set_default', 'upstream', 'tls_server', 'tls_client', 'tls_name'];

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function siteOf(m: Record<string, unknown>, index: number, baseDir: string): RProxySite {
  if (m.upstream === undefined) throw new ValueError('upstream is required', ['upstream']);
  const at = (key: string, f: () => unknown) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(e.message, [key, ...(e.path ?? [])]);
      throw e;
    }
  };
  const upstream = at('upstream', () => parseUpstreamAddr(m.upstream, 80)) as UpstreamAddr;
  const tlsName = m.tls_name !== undefined ? (at('tls_name', () => parseHost(m.tls_name)) as { host: string }).host : upstream.host;
  return Object.freeze({
    index,
    upstream,
    tlsServer: m.tls_server !== undefined ? (at('tls_server', () => parseTlsServer(m.tls_server, baseDir)) as TlsServerConfig) : undefined,
    tlsClient: m.tls_client !== undefined && m.tls_client !== false ? (at('tls_client', () => parseTlsClient(m.tls_client, baseDir)) as TlsClientConfig) : undefined,
    tlsName,
  });
}

/** Parse `hosts`: one map or a list of maps. */
export function parseHosts(v: unknown, baseDir: string): HostMatch {
  const hm = new HostMatch();
  const entries = list(v);
  entries.forEach((raw, index) => {
    const path = Array.isArray(v) ? [String(index)] : [];
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValueError('a host entry must be a map');
      const m: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(raw)) {
        const key = k.toLowerCase().replace(/-/g, '_');
        if (key === 'services') throw new ValueError("put the site keys (upstream, tls_server, ...) directly in the host entry, not under 'services'", [k]);
        if (!SITE_KEYS.includes(key)) throw new ValueError(`unknown key '${k}' in host entry (known: ${SITE_KEYS.join(', ')})`, [k]);
        m[key] = val;
      }
      const site = siteOf(m, index, baseDir);
      let matched = false;
      if (m.exact_match !== undefined) {
        for (const h of list(m.exact_match)) hm.addExact(parseHost(h).host, site);
        matched = true;
      }
      if (m.child_match !== undefined) {
        for (const d of list(m.child_match)) hm.addChild(parseDomain(d, true), site);
        matched = true;
      }
      if (m.set_default !== undefined && typeof m.set_default !== 'boolean') throw new ValueError('set_default must be a bool', ['set_default']);
      if (m.set_default === true || !matched) {
        if (hm.defaultSite) throw new ValueError('a default host entry is already set');
        hm.defaultSite = site;
      }
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(e.message, [...path, ...(e.path ?? [])]);
      throw e;
    }
  });
  if (hm.size === 0) throw new ValueError('hosts must name at least one host');
  return hm;
}

/** The TLS context for a ClientHello's server name: the matched site's, else the global one. */
export function tlsContextFor(hosts: HostMatch, servername: string | undefined, global: TlsServerConfig | undefined): TlsServerConfig | undefined {
  let site: RProxySite | undefined;
  if (servername) {
    const ip = normalizeIp(servername);
    site = hosts.get(ip ?? servername.toLowerCase().replace(/\.$/, ''));
  } else site = hosts.defaultSite;
  return site?.tlsServer ?? global;
}
