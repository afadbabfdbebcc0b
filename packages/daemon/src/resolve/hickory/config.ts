import { asU16, isMap, parseDuration, parseIpAddr } from '@sluice/common';
import type { BaseConfig, ParseContext } from '../../runtime/object-def.js';
import { parseTlsClient, type TlsClientConfig } from '../../tls/tls-config.js';

/** How queries travel: g3's `encryption` unset (plain), dns-over-tls or dns-over-https. */
export type DnsTransport = 'plain' | 'tls' | 'https';

export interface HickoryEncryption {
  protocol: 'tls' | 'https';
  tlsName: string;
  tlsClient: TlsClientConfig;
}

export interface HickoryConfig extends BaseConfig {
  /** canonical IP texts, in the configured order */
  servers: string[];
  serverPort: number;
  encryption: HickoryEncryption | undefined;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  eachTimeoutMs: number;
  eachTries: number;
  retryIntervalMs: number;
  bindIp: string | undefined;
  gracefulStopWaitMs: number;
  protectiveQueryTimeoutMs: number;
  positiveMinTtl: number;
  positiveMaxTtl: number;
  negativeTtl: number;
}

/** g3's protocol spellings, compared with '-' and '_' alike and case-folded. */
const PROTOCOLS: Record<string, HickoryEncryption['protocol'] | 'quic' | 'h3'> = {
  tls: 'tls', dot: 'tls', dns_over_tls: 'tls',
  https: 'https', doh: 'https', dns_over_https: 'https',
  quic: 'quic', doq: 'quic', dns_over_quic: 'quic',
  h3: 'h3', doh3: 'h3', 'dns_over_http/3': 'h3', dns_over_h3: 'h3',
};

const DEFAULT_PORT = { plain: 53, tls: 853, https: 443 } as const;

const ENCRYPTION_KEYS = new Set(['tls_name', 'protocol', 'tls_client']);

function parseEncryption(v: unknown, ctx: ParseContext): HickoryEncryption {
  if (typeof v === 'string') {
    if (v.trim() === '') ctx.fail(['encryption'], 'tls_name must not be empty');
    return { protocol: 'tls', tlsName: v.trim(), tlsClient: parseTlsClient({}, ctx.baseDir) };
  }
  if (!isMap(v)) return ctx.fail(['encryption'], 'expected a tls_name string or a map');
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!ENCRYPTION_KEYS.has(k.replaceAll('-', '_'))) ctx.fail(['encryption', k], `unknown key '${k}' (expected tls_name, protocol, tls_client)`);
  }
  const get = (k: string) => m[k] ?? m[k.replaceAll('_', '-')];
  const name = get('tls_name');
  if (typeof name !== 'string' || name.trim() === '') return ctx.fail(['encryption', 'tls_name'], 'tls_name is required (the name the server certificate carries)');
  let protocol: HickoryEncryption['protocol'] = 'tls';
  const p = get('protocol');
  if (p !== undefined) {
    const found = PROTOCOLS[String(p).toLowerCase().replaceAll('-', '_')];
    if (found === undefined) return ctx.fail(['encryption', 'protocol'], `unknown protocol '${String(p)}' (dns-over-tls, dns-over-https, dns-over-quic, dns-over-http/3)`);
    if (found === 'quic' || found === 'h3') {
      return ctx.fail(['encryption', 'protocol'], `${String(p)} runs over QUIC, and Node has no QUIC client: use dns-over-tls or dns-over-https`);
    }
    protocol = found;
  }
  let tlsClient: TlsClientConfig;
  try {
    tlsClient = parseTlsClient(get('tls_client') ?? {}, ctx.baseDir);
  } catch (e) {
    return ctx.fail(['encryption', 'tls_client'], (e as Error).message);
  }
  return { protocol, tlsName: name.trim(), tlsClient };
}

function parseServers(v: unknown, ctx: ParseContext): string[] {
  const items = Array.isArray(v) ? v : String(v).split(/\s+/).filter((s) => s.length > 0);
  if (items.length === 0) ctx.fail(['server'], 'no DNS server set');
  return items.map((s, i) => {
    try {
      return parseIpAddr(s);
    } catch {
      return ctx.fail(['server', String(i)], `'${String(s)}' is not an IP address (hickory servers are IPs; the port is server_port)`);
    }
  });
}

const ms = (v: unknown, dflt: number) => (v === undefined ? dflt : parseDuration(v));

export function parseHickoryConfig(v: Record<string, unknown>, ctx: ParseContext): HickoryConfig {
  const encryption = v.encryption === undefined ? undefined : parseEncryption(v.encryption, ctx);
  const positiveMinTtl = (v.positive_min_ttl as number | undefined) ?? 30;
  return Object.freeze({
    name: v.name as string,
    type: 'hickory',
    raw: v,
    baseDir: ctx.baseDir,
    servers: parseServers(v.server, ctx),
    serverPort: v.server_port === undefined ? DEFAULT_PORT[encryption?.protocol ?? 'plain'] : asU16(v.server_port),
    encryption,
    connectTimeoutMs: ms(v.connect_timeout, 10_000),
    requestTimeoutMs: ms(v.request_timeout, 5_000),
    eachTimeoutMs: ms(v.each_timeout, 5_000),
    eachTries: (v.each_tries as number | undefined) ?? 2,
    retryIntervalMs: ms(v.retry_interval, 1_000),
    bindIp: v.bind_ip === undefined ? undefined : parseIpAddr(v.bind_ip),
    gracefulStopWaitMs: ms(v.graceful_stop_wait, 30_000),
    protectiveQueryTimeoutMs: ms(v.protective_query_timeout, 60_000),
    positiveMinTtl,
    // as g3: a max below the min is raised to it
    positiveMaxTtl: Math.max((v.positive_max_ttl as number | undefined) ?? 3600, positiveMinTtl),
    negativeTtl: (v.negative_min_ttl as number | undefined) ?? 30,
  });
}

/** The `encryption` log field, like g3's summary: `plain`, `dns-over-tls(<tls_name>)`... */
export function encryptionSummary(c: HickoryConfig): string {
  if (!c.encryption) return 'plain';
  return `${c.encryption.protocol === 'tls' ? 'dns-over-tls' : 'dns-over-https'}(${c.encryption.tlsName})`;
}
