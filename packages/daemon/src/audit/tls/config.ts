/**
 * The auditor keys for TLS interception, after g3's dpi values: `tls_cert_agent` (alias `tls_cert_generator`),
 * `tls_interception_client` and `tls_interception_server`. Without a cert agent g3 does no TLS interception,
 * so parseTlsInterception returns undefined then and the auditor relays TLS as it is.
 */
import type { ConnectionOptions } from 'node:tls';
import { isMap, parseDuration, parseEnvSockaddr, parseSocketBuffer, asU32, asUsize, ValueError, type SocketBuffer } from '@sluice/common';
import type { ParseContext } from '../../runtime/object-def.js';
import { bool, g3, int, type FieldSchema } from '../../runtime/schema-util.js';
import { parseTlsClient } from '../../tls/tls-config.js';

export interface CertAgentConfig {
  /** UDP peer (g3fcgen, sluice-certgen); a domain host is resolved by the socket when first used */
  readonly peerHost: string;
  readonly peerPort: number;
  readonly socketBuffer?: SocketBuffer;
  /** how long one query may wait for the peer's answer, resends included */
  readonly queryWaitTimeoutMs: number;
  /** how long a caller waits for a certificate (cache lookup + query) */
  readonly cacheRequestTimeoutMs: number;
  /** seconds a response with ttl 0 is cached */
  readonly protectiveCacheTtl: number;
  /** cap in seconds on any response's ttl */
  readonly maximumCacheTtl: number;
  /** how long an expired record may still be served (while it is refreshed) before it is dropped */
  readonly cacheVanishWaitMs: number;
  /** g3's batching of cache requests; accepted, sluice queries each host as it comes */
  readonly cacheRequestBatchCount: number;
}

export interface InterceptionClientConfig {
  /** spread into tls.connect(): ca (system roots + ca_certificate unless no_default_ca_certificate), versions */
  readonly options: ConnectionOptions;
  readonly handshakeTimeoutMs: number;
  /** `insecure`: hand over even when the upstream certificate does not verify */
  readonly insecure: boolean;
  readonly noSessionCache: boolean;
}

export interface InterceptionServerConfig {
  /** client TLS handshake timeout (g3 `accept_timeout`, alias handshake_timeout) */
  readonly acceptTimeoutMs: number;
}

export interface TlsInterceptionConfig {
  readonly certAgent: CertAgentConfig;
  readonly client: InterceptionClientConfig;
  readonly server: InterceptionServerConfig;
}

const CERT_AGENT_KEYS: Record<string, FieldSchema> = {
  query_peer_addr: g3('env_sockaddr', 'UDP address of the certificate generator (g3fcgen, sluice-certgen). Default 127.0.0.1:2999.'),
  query_socket_buffer: g3('socket_buffer', 'Socket buffer sizes of the UDP socket to the peer.'),
  query_wait_timeout: g3('duration', 'How long a query waits for the peer\'s answer, resent meanwhile. Default 4s.'),
  protective_cache_ttl: int('Seconds to cache a certificate the peer returned with ttl 0. Default 10.', { minimum: 0 }),
  maximum_cache_ttl: int('Maximum seconds to cache a certificate returned by the peer. Default 300.', { minimum: 0 }),
  cache_request_batch_count: int('Batch size of cache requests (accepted for g3 compatibility). Default 10.', { minimum: 0 }),
  cache_request_timeout: g3('duration', 'How long a caller waits for a certificate. Default 4s.'),
  cache_vanish_wait: g3('duration', 'How long an expired certificate may still be used while it is refreshed. Default 300s.'),
};

const CLIENT_KEYS: Record<string, FieldSchema> = {
  min_tls_version: { type: 'string', description: 'Minimal TLS version to the upstream (tls1.2, tls1.3).' },
  max_tls_version: { type: 'string', description: 'Maximal TLS version to the upstream.' },
  ca_certificate: { description: 'CA certificate(s) (file or PEM) trusted for upstream servers, added to the system roots.', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  no_default_ca_certificate: bool('Do not trust the system CA certificates.'),
  handshake_timeout: g3('duration', 'Upstream TLS handshake timeout. Default 10s.'),
  no_session_cache: bool('Do not resume upstream TLS sessions.'),
  session_cache_lru_max_sites: int('Sites with cached sessions (accepted for g3 compatibility). Default 128.', { minimum: 0 }),
  session_cache_each_capacity: int('Sessions kept per site (accepted for g3 compatibility). Default 16.', { minimum: 0 }),
  supported_groups: { type: 'string', description: 'Elliptic curve groups offered to the upstream (e.g. X25519:P-256).' },
  use_ocsp_stapling: bool('Request a stapled OCSP response (accepted; not verified, as in g3).'),
  enable_sct: bool('Request signed certificate timestamps (accepted for g3 compatibility).'),
  enable_grease: bool('GREASE (accepted for g3 compatibility; Node\'s OpenSSL does not send it).'),
  permute_extensions: bool('Permute TLS extensions (accepted for g3 compatibility).'),
  insecure: bool('DANGEROUS: do not fail on an upstream certificate that does not verify.'),
};

const SERVER_KEYS: Record<string, FieldSchema> = {
  accept_timeout: g3('duration', 'Client TLS handshake timeout. Default 10s.'),
};

/** Auditor schema fields. Spread into the auditor's objectSchema fields; pass TLS_INTERCEPTION_ALIASES as aliases. */
export const TLS_INTERCEPTION_FIELDS: Record<string, FieldSchema> = {
  tls_cert_agent: {
    description: 'Certificate generator for TLS interception: a UDP address (query_peer_addr) or a map of '
      + 'query_peer_addr, query_wait_timeout, protective_cache_ttl, maximum_cache_ttl, cache_request_timeout, '
      + 'cache_vanish_wait, ... Not set: no TLS interception. Alias tls_cert_generator.',
    anyOf: [
      { type: 'string' },
      { type: 'object', additionalProperties: false, properties: CERT_AGENT_KEYS, 'x-aliases': { vanish_after_expire: 'cache_vanish_wait' } },
    ],
  },
  tls_interception_client: {
    description: 'TLS client settings towards the upstream in TLS interception: ca_certificate, no_default_ca_certificate, '
      + 'min/max_tls_version, handshake_timeout, insecure, ...',
    type: 'object',
    additionalProperties: false,
    properties: CLIENT_KEYS,
    'x-aliases': {
      tls_version_min: 'min_tls_version', tls_version_max: 'max_tls_version', ca_cert: 'ca_certificate',
      server_auth_certificate: 'ca_certificate', server_auth_cert: 'ca_certificate', no_default_ca_cert: 'no_default_ca_certificate',
      negotiation_timeout: 'handshake_timeout', disable_session_cache: 'no_session_cache', session_cache_disabled: 'no_session_cache',
      session_cache_each_cap: 'session_cache_each_capacity',
    },
  },
  tls_interception_server: {
    description: 'TLS server settings towards the client in TLS interception: accept_timeout (alias handshake_timeout).',
    type: 'object',
    additionalProperties: false,
    properties: SERVER_KEYS,
    'x-aliases': { handshake_timeout: 'accept_timeout', negotiation_timeout: 'accept_timeout' },
  },
};

/** Key aliases at the auditor level. */
export const TLS_INTERCEPTION_ALIASES: Record<string, string> = { tls_cert_generator: 'tls_cert_agent' };

const DEFAULT_PEER = { host: '127.0.0.1', port: 2999 };

/** A value's key normalised the g3 way, with the aliases of `aliases` resolved, when parse runs without the schema walk. */
function normMap(v: Record<string, unknown>, aliases: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const key = k.toLowerCase().replace(/-/g, '_');
    out[aliases[key] ?? key] = val;
  }
  return out;
}

function parseCertAgent(v: unknown): CertAgentConfig {
  let m: Record<string, unknown> = {};
  if (typeof v === 'string') m = { query_peer_addr: v };
  else if (isMap(v)) m = normMap(v, { vanish_after_expire: 'cache_vanish_wait' });
  else throw new ValueError('tls_cert_agent must be an address string or a map');
  const at = <T>(key: string, f: (x: unknown) => T): T | undefined => {
    if (m[key] === undefined) return undefined;
    try {
      return f(m[key]);
    } catch (e) {
      throw new ValueError((e as Error).message, [key]);
    }
  };
  for (const k of Object.keys(m)) if (!(k in CERT_AGENT_KEYS)) throw new ValueError(`unknown key '${k}' in tls_cert_agent`, [k]);
  const peer = at('query_peer_addr', (x) => parseEnvSockaddr(x)) ?? DEFAULT_PEER;
  return Object.freeze({
    peerHost: peer.host,
    peerPort: peer.port,
    socketBuffer: at('query_socket_buffer', parseSocketBuffer),
    queryWaitTimeoutMs: at('query_wait_timeout', parseDuration) ?? 4000,
    cacheRequestTimeoutMs: at('cache_request_timeout', parseDuration) ?? 4000,
    protectiveCacheTtl: at('protective_cache_ttl', asU32) ?? 10,
    maximumCacheTtl: at('maximum_cache_ttl', asU32) ?? 300,
    cacheVanishWaitMs: at('cache_vanish_wait', parseDuration) ?? 300_000,
    cacheRequestBatchCount: at('cache_request_batch_count', asUsize) ?? 10,
  });
}

function parseInterceptionClient(v: unknown, baseDir: string): InterceptionClientConfig {
  if (v !== undefined && v !== null && !isMap(v)) throw new ValueError('tls_interception_client must be a map');
  const m = normMap(v ?? {}, (TLS_INTERCEPTION_FIELDS.tls_interception_client!['x-aliases'] as Record<string, string>));
  for (const k of Object.keys(m)) if (!(k in CLIENT_KEYS)) throw new ValueError(`unknown key '${k}' in tls_interception_client`, [k]);
  // the key set is a subset of tls_client's, whose parser reads the CA files and versions
  const base = parseTlsClient(m, baseDir);
  const options: ConnectionOptions = { ...base.options };
  if (typeof m.supported_groups === 'string') options.ecdhCurve = m.supported_groups;
  const insecure = m.insecure === true;
  // verification stays on in the TLS layer's result; `insecure` only decides whether a failure ends the task
  options.rejectUnauthorized = false;
  return Object.freeze({ options, handshakeTimeoutMs: base.handshakeTimeoutMs, insecure, noSessionCache: m.no_session_cache === true });
}

function parseInterceptionServer(v: unknown): InterceptionServerConfig {
  if (v !== undefined && v !== null && !isMap(v)) throw new ValueError('tls_interception_server must be a map');
  const m = normMap(v ?? {}, { handshake_timeout: 'accept_timeout', negotiation_timeout: 'accept_timeout' });
  for (const k of Object.keys(m)) if (!(k in SERVER_KEYS)) throw new ValueError(`unknown key '${k}' in tls_interception_server`, [k]);
  let acceptTimeoutMs = 10_000;
  if (m.accept_timeout !== undefined) {
    try {
      acceptTimeoutMs = parseDuration(m.accept_timeout);
    } catch (e) {
      throw new ValueError((e as Error).message, ['accept_timeout']);
    }
  }
  return Object.freeze({ acceptTimeoutMs });
}

/**
 * Parse the TLS interception keys of an auditor's raw config (after the schema walk, or raw YAML: both
 * `tls_cert_agent` and `tls_cert_generator` are read). Undefined when no cert agent is set.
 */
export function parseTlsInterception(raw: Record<string, unknown>, ctx: ParseContext): TlsInterceptionConfig | undefined {
  const agentKey = raw.tls_cert_agent !== undefined ? 'tls_cert_agent' : 'tls_cert_generator';
  const agentRaw = raw[agentKey];
  if (agentRaw === undefined || agentRaw === null) return undefined;
  const guarded = <T>(key: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      return ctx.fail([key, ...((e as ValueError).path ?? [])], (e as Error).message);
    }
  };
  const certAgent = guarded(agentKey, () => parseCertAgent(agentRaw));
  const client = guarded('tls_interception_client', () => parseInterceptionClient(raw.tls_interception_client, ctx.baseDir));
  const server = guarded('tls_interception_server', () => parseInterceptionServer(raw.tls_interception_server));
  return Object.freeze({ certAgent, client, server });
}
