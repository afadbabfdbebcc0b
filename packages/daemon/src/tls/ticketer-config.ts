/**
 * g3's `tls_ticketer` value: `{check_interval, local_lifetime, source}` where `source` is a remote key source
 * (`type: redis` with `enc_key`, `dec_set` and g3's redis map: addr, db, username, password, connect_timeout,
 * response_timeout, tls_client, tls_name). Parsed strictly: an unknown key is an error, as in g3.
 */
import type { ConnectionOptions } from 'node:tls';
import { asString, asU32, isMap, parseDuration, parseUpstreamAddr, ValueError } from '@sluice/common';
import type { FieldSchema } from '../runtime/schema-util.js';
import { parseTlsClient } from './tls-config.js';

export interface RedisTicketSourceConfig {
  readonly type: 'redis';
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  /** TLS to redis (tls_client), with tls_name as the name checked */
  readonly tls: ConnectionOptions | undefined;
  /** string key holding the encrypt key as JSON */
  readonly encKey: string;
  /** set whose members are the decrypt keys as JSON */
  readonly decSet: string;
}

export interface TlsTicketerConfig {
  readonly checkIntervalMs: number;
  /** lifetime of a locally made key, seconds; it is replaced after half of it */
  readonly localLifetimeS: number;
  readonly source: RedisTicketSourceConfig | undefined;
}

const normalize = (k: string) => k.toLowerCase().replace(/-/g, '_');

function entries(v: unknown, what: string): Array<[string, unknown]> {
  if (!isMap(v)) throw new ValueError(`${what} must be a map`);
  return Object.entries(v as Record<string, unknown>).map(([k, x]) => [normalize(k), x]);
}

/** Attach the key to a nested error's path. */
function at<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ValueError) throw new ValueError(e.message, [key, ...(e.path ?? [])]);
    throw e;
  }
}

export function parseTlsTicketer(v: unknown, baseDir: string): TlsTicketerConfig {
  let checkIntervalMs = 300_000;
  let localLifetimeS = 12 * 3600;
  let source: RedisTicketSourceConfig | undefined;
  // `tls_ticketer: {}` (g3's own tests) is the all-defaults ticketer; null or true mean the same here
  const items = v === null || v === true ? [] : entries(v, 'tls_ticketer');
  for (const [k, x] of items) {
    if (k === 'check_interval') checkIntervalMs = at(k, () => parseDuration(x));
    else if (k === 'local_lifetime') localLifetimeS = at(k, () => asU32(x));
    else if (k === 'source') source = at(k, () => parseTicketSource(x, baseDir));
    else throw new ValueError(`invalid key '${k}' in tls_ticketer (check_interval, local_lifetime, source)`, [k]);
  }
  if (checkIntervalMs <= 0) throw new ValueError('check_interval must be above 0', ['check_interval']);
  if (localLifetimeS < 2) throw new ValueError('local_lifetime must be at least 2 seconds', ['local_lifetime']);
  return Object.freeze({ checkIntervalMs, localLifetimeS, source });
}

function parseTicketSource(v: unknown, baseDir: string): RedisTicketSourceConfig {
  const items = entries(v, 'tls ticket source');
  const type = items.find(([k]) => k === 'type')?.[1];
  if (type === undefined) throw new ValueError('tls ticket source needs a type (redis)');
  if (normalize(String(type)) !== 'redis') throw new ValueError(`unsupported tls ticket source type '${String(type)}' (redis)`, ['type']);
  let addr: { host: string; port: number } | undefined;
  let db = 0;
  let username: string | undefined;
  let password: string | undefined;
  let connectTimeoutMs = 5000;
  let responseTimeoutMs = 2000;
  let tlsClient: unknown;
  let tlsName: string | undefined;
  let encKey = '';
  let decSet = '';
  for (const [k, x] of items) {
    switch (k) {
      case 'type': break;
      case 'addr': case 'address': addr = at(k, () => parseUpstreamAddr(x, 6379)); break;
      case 'db': db = at(k, () => asU32(x)); break;
      case 'username': username = at(k, () => asString(x)); break;
      case 'password': password = at(k, () => asString(x)); break;
      case 'connect_timeout': connectTimeoutMs = at(k, () => parseDuration(x)); break;
      case 'response_timeout': case 'read_timeout': responseTimeoutMs = at(k, () => parseDuration(x)); break;
      case 'tls': case 'tls_client': tlsClient = x; break;
      case 'tls_name': tlsName = at(k, () => asString(x)); break;
      case 'enc_key': encKey = at(k, () => asString(x)); break;
      case 'dec_set': decSet = at(k, () => asString(x)); break;
      default: throw new ValueError(`invalid key '${k}' in the redis tls ticket source`, [k]);
    }
  }
  if (!addr) throw new ValueError('the redis tls ticket source needs addr', ['addr']);
  if (!encKey) throw new ValueError('the redis tls ticket source needs enc_key (the key holding the encrypt key)', ['enc_key']);
  if (!decSet) throw new ValueError('the redis tls ticket source needs dec_set (the set holding the decrypt keys)', ['dec_set']);
  let tls: ConnectionOptions | undefined;
  if (tlsClient !== undefined && tlsClient !== false) {
    const c = at('tls_client', () => parseTlsClient(tlsClient, baseDir));
    tls = { ...c.options, ...(tlsName !== undefined ? { servername: tlsName } : {}) };
  }
  return Object.freeze({
    type: 'redis' as const, host: addr.host, port: addr.port, db, username, password, connectTimeoutMs, responseTimeoutMs, tls, encKey, decSet,
  });
}

/** Schema of the `tls_ticketer` field: the shape is checked here, the keys by parseTlsTicketer. */
export const tlsTicketerField: FieldSchema = {
  description: 'Rolling TLS session ticket keys, shared by a fleet through a remote source: `check_interval` (default 5min: '
    + 'expired keys are dropped and the source is read), `local_lifetime` (seconds, default 43200: a locally made encrypt '
    + 'key is replaced after half of it and still decrypts until its lifetime ends), `source` (`type: redis`, `addr`, `db`, '
    + '`username`, `password`, `enc_key`: a string key holding the encrypt key as JSON `{name, aes, hmac, lifetime}` in hex, '
    + '`dec_set`: a set of decrypt keys `{name, aes, hmac, expire}`). While the source answers, its encrypt key is used; '
    + 'sluice encrypts tickets with AES-128 (the first 16 bytes of `aes`), so tickets are shared between sluice daemons '
    + '(serving the same certificates), not with g3.',
  anyOf: [{ type: 'object', additionalProperties: true }, { type: 'boolean' }, { type: 'null' }],
};
