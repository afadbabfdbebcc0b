/**
 * `hosts` (alias `sites`) of http_rproxy: g3's host-matched objects (serve/host-match.ts). The rest of an entry is
 * the site: `upstream` (port 80 unless
 * written), `tls_server` (certificate offered for this host's SNI), `tls_client` / `tls_name` (TLS to upstream).
 */
import { parseHost, parseUpstreamAddr, ValueError, type UpstreamAddr } from '@sluice/common';
import { hostKey, parseHostMatched, type HostMatch } from '../host-match.js';
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

export type RProxyHosts = HostMatch<RProxySite>;

const SITE_KEYS = ['upstream', 'tls_server', 'tls_client', 'tls_name'];

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
export function parseHosts(v: unknown, baseDir: string): RProxyHosts {
  const hm = parseHostMatched(v, SITE_KEYS, (m, index) => siteOf(m, index, baseDir), (key, written) => {
    if (key === 'services') throw new ValueError("put the site keys (upstream, tls_server, ...) directly in the host entry, not under 'services'", [written]);
  });
  if (hm.size === 0) throw new ValueError('hosts must name at least one host');
  return hm;
}

/** The TLS context for a ClientHello's server name: the matched site's, else the global one. */
export function tlsContextFor(hosts: RProxyHosts, servername: string | undefined, global: TlsServerConfig | undefined): TlsServerConfig | undefined {
  const site = servername ? hosts.get(hostKey(servername)) : hosts.defaultEntry;
  return site?.tlsServer ?? global;
}
