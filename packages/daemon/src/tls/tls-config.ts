/**
 * g3's TLS config shapes: `tls_server` (certificate + private_key or cert_pairs, optional client auth) and
 * `tls_client` (CA, client certificate, SNI and version knobs). PEM paths are relative to the object's file.
 * Parsing reads the files, so a missing or bad certificate fails `sluice -t` with the key path.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { createSecureContext, rootCertificates, type ConnectionOptions, type SecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { parseDuration, ValueError } from '@sluice/common';
import type { FieldSchema } from '../runtime/schema-util.js';

function readPem(baseDir: string, v: unknown, key: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ValueError(`${key} must be a file path or PEM text`, [key]);
  if (v.includes('-----BEGIN')) return v;
  const p = isAbsolute(v) ? v : join(baseDir, v);
  try {
    return readFileSync(p, 'utf8');
  } catch (e) {
    throw new ValueError(`cannot read ${key} file ${p}: ${(e as Error).message}`, [key]);
  }
}

function readPemList(baseDir: string, v: unknown, key: string): string[] {
  return (Array.isArray(v) ? v : [v]).map((x, i) => {
    try {
      return readPem(baseDir, x, key);
    } catch (e) {
      throw new ValueError((e as Error).message, Array.isArray(v) ? [key, String(i)] : [key]);
    }
  });
}

const VERSIONS: Record<string, SecureVersion> = {
  'tls1.0': 'TLSv1', tlsv1: 'TLSv1', 'tls1.1': 'TLSv1.1', 'tlsv1.1': 'TLSv1.1', 'tls1.2': 'TLSv1.2', 'tlsv1.2': 'TLSv1.2',
  'tls1.3': 'TLSv1.3', 'tlsv1.3': 'TLSv1.3', '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3',
};
function tlsVersion(v: unknown, key: string): SecureVersion {
  const s = String(v).toLowerCase().replace(/_/g, '.');
  const r = VERSIONS[s];
  if (!r) throw new ValueError(`unknown TLS version '${String(v)}' (tls1.2, tls1.3, ...)`, [key]);
  return r;
}

function asMap(v: unknown, what: string, known?: readonly string[]): Record<string, unknown> {
  if (v === true || v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValueError(`${what} must be a map`);
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as object)) {
    const key = k.toLowerCase().replace(/-/g, '_');
    if (known && !known.includes(key)) throw new ValueError(`unknown key '${k}' in ${what} (known: ${known.join(', ')})`, [k]);
    out[key] = val;
  }
  return out;
}

const SERVER_KEYS = ['certificate', 'cert', 'private_key', 'key', 'cert_pairs', 'enable_client_auth', 'ca_certificate',
  'client_auth_certificate', 'no_session_ticket', 'no_session_cache', 'handshake_timeout', 'min_tls_version',
  'max_tls_version', 'session_id_context', 'ciphers'] as const;
const CLIENT_KEYS = ['protocol', 'min_tls_version', 'max_tls_version', 'ciphers', 'disable_sni', 'cert_pair', 'certificate',
  'private_key', 'ca_certificate', 'server_auth_certificate', 'no_default_ca_certificate', 'handshake_timeout',
  'no_session_cache', 'session_cache_lru_max_sites', 'session_cache_each_capacity', 'supported_groups', 'insecure',
  'use_ocsp_stapling', 'enable_sct', 'enable_grease', 'permute_extensions'] as const;

export interface TlsServerConfig {
  /** options for tls.createServer / new TLSSocket({isServer}) */
  context: SecureContext;
  /** what `context` was made from, for a tls.Server (which builds its own context) */
  contextOptions: SecureContextOptions;
  requestCert: boolean;
  handshakeTimeoutMs: number;
  /** ALPN the server offers, if any */
  alpn?: string[];
}

/** `tls_server`: `{certificate, private_key}` or `cert_pairs`, `enable_client_auth`, `ca_certificate`, ... */
export function parseTlsServer(v: unknown, baseDir: string): TlsServerConfig {
  const m = asMap(v, 'tls_server', SERVER_KEYS);
  const pairs: Array<{ cert: string; key: string }> = [];
  const pairOf = (p: Record<string, unknown>, path: string[]) => {
    try {
      const cert = readPem(baseDir, p.certificate ?? p.cert, 'certificate');
      const key = readPem(baseDir, p.private_key ?? p.key, 'private_key');
      pairs.push({ cert, key });
    } catch (e) {
      throw new ValueError((e as Error).message, [...path, ...((e as ValueError).path ?? [])]);
    }
  };
  if (m.cert_pairs !== undefined) {
    const list = Array.isArray(m.cert_pairs) ? m.cert_pairs : [m.cert_pairs];
    list.forEach((p, i) => pairOf(asMap(p, 'cert_pairs item'), Array.isArray(m.cert_pairs) ? ['cert_pairs', String(i)] : ['cert_pairs']));
  } else if (m.certificate !== undefined || m.private_key !== undefined) pairOf(m, []);
  if (pairs.length === 0) throw new ValueError('tls_server needs certificate and private_key (or cert_pairs)');
  const clientAuth = m.enable_client_auth === true;
  const ca = m.ca_certificate ?? m.client_auth_certificate;
  let context: SecureContext;
  let contextOptions: SecureContextOptions;
  try {
    contextOptions = {
      cert: pairs.map((p) => p.cert),
      key: pairs.map((p) => p.key),
      ca: ca !== undefined ? readPemList(baseDir, ca, 'ca_certificate') : undefined,
      minVersion: m.min_tls_version !== undefined ? tlsVersion(m.min_tls_version, 'min_tls_version') : undefined,
      maxVersion: m.max_tls_version !== undefined ? tlsVersion(m.max_tls_version, 'max_tls_version') : undefined,
    };
    context = createSecureContext(contextOptions);
  } catch (e) {
    if (e instanceof ValueError) throw e;
    throw new ValueError(`invalid certificate or key: ${(e as Error).message}`);
  }
  if (clientAuth && ca === undefined) throw new ValueError('enable_client_auth needs ca_certificate', ['enable_client_auth']);
  return {
    context,
    contextOptions,
    requestCert: clientAuth,
    handshakeTimeoutMs: m.handshake_timeout !== undefined ? parseDuration(m.handshake_timeout) : 10_000,
  };
}

export interface TlsClientConfig {
  /** spread into tls.connect() */
  options: ConnectionOptions;
  handshakeTimeoutMs: number;
  disableSni: boolean;
}

/** `tls_client`: `{}` for defaults, or `ca_certificate`, `no_default_ca_certificate`, `certificate`+`private_key`, ... */
export function parseTlsClient(v: unknown, baseDir: string): TlsClientConfig {
  const m = asMap(v, 'tls_client', CLIENT_KEYS);
  const options: ConnectionOptions = {};
  const ca = m.ca_certificate ?? m.server_auth_certificate;
  if (ca !== undefined) {
    const extra = readPemList(baseDir, ca, 'ca_certificate');
    // g3 adds configured CAs to the system ones unless no_default_ca_certificate is set
    options.ca = m.no_default_ca_certificate === true ? extra : [...rootCertificates, ...extra];
  }
  const pair = m.cert_pair !== undefined ? asMap(m.cert_pair, 'cert_pair') : m;
  if (pair.certificate !== undefined || pair.private_key !== undefined) {
    options.cert = readPem(baseDir, pair.certificate, 'certificate');
    options.key = readPem(baseDir, pair.private_key, 'private_key');
  }
  if (m.min_tls_version !== undefined) options.minVersion = tlsVersion(m.min_tls_version, 'min_tls_version');
  if (m.max_tls_version !== undefined) options.maxVersion = tlsVersion(m.max_tls_version, 'max_tls_version');
  if (m.ciphers !== undefined) options.ciphers = Array.isArray(m.ciphers) ? m.ciphers.join(':') : String(m.ciphers);
  if (m.insecure === true) options.rejectUnauthorized = false;
  return {
    options,
    handshakeTimeoutMs: m.handshake_timeout !== undefined ? parseDuration(m.handshake_timeout) : 10_000,
    disableSni: m.disable_sni === true,
  };
}


/** Schema of a TLS map field: shape checked here, keys and files checked by parseTlsServer/parseTlsClient. */
export const tlsField = (description: string): FieldSchema => ({
  description,
  anyOf: [{ type: 'object', additionalProperties: true }, { type: 'boolean' }],
});
