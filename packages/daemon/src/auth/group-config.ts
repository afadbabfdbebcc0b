/** The typed config of a user group (all three types share the basic part; ldap adds its own). */
import { parseDuration, ValueError, within } from '@sluice/common';
import type { BaseConfig, ParseContext } from '../runtime/object-def.js';
import { parseSourceConfig, type SourceConfig } from './source/source-config.js';
import { parseUserConfig, parseUserList, type UserConfig } from './user-config.js';
import { isAbsolute, resolve } from 'node:path';

export interface LdapSettings {
  readonly host: string;
  readonly port: number;
  /** ldaps:// (TLS from the start) */
  readonly directTls: boolean;
  /** STARTTLS on ldap:// (a tls_client was configured) */
  readonly startTls: boolean;
  readonly tlsName: string | undefined;
  readonly caCert: string | undefined;
  readonly noVerify: boolean;
  readonly baseDn: string;
  readonly usernameAttribute: string;
  readonly unmanagedUser: UserConfig | undefined;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly poolMaxIdle: number;
  readonly poolMax: number;
  readonly queueChannelSize: number;
  readonly queueWaitTimeoutMs: number;
  readonly cacheUserCount: number;
  readonly cacheExpireMs: number;
  /** largest LDAP response accepted (g3 default 256 bytes) */
  readonly maxMessageSize: number;
}

export interface UserGroupConfig extends BaseConfig {
  readonly staticUsers: readonly UserConfig[];
  readonly anonymousUser: UserConfig | undefined;
  readonly source: SourceConfig | undefined;
  readonly cachePath: string | undefined;
  readonly refreshIntervalMs: number;
  readonly ldap: LdapSettings | undefined;
}

function located<T>(key: string, fn: () => T): T {
  return within(key, fn);
}

function parseLdap(v: Record<string, unknown>, baseDir: string): LdapSettings {
  const urlText = v.ldap_url;
  if (typeof urlText !== 'string') throw new ValueError('ldap user group needs ldap_url', ['ldap_url']);
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new ValueError(`invalid ldap url '${urlText}'`, ['ldap_url']);
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') throw new ValueError(`unsupported ldap url scheme ${url.protocol}`, ['ldap_url']);
  const directTls = url.protocol === 'ldaps:';
  const tls = v.tls_client as Record<string, unknown> | boolean | undefined;
  const tlsMap = tls && typeof tls === 'object' ? tls : {};
  const ca = tlsMap.ca_certificate ?? tlsMap.ca_cert;
  const pool = (v.connection_pool ?? v.pool ?? {}) as Record<string, unknown>;
  const dur = (k: string, d: number) => (v[k] === undefined ? d : located(k, () => parseDuration(v[k])));
  return Object.freeze({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : directTls ? 636 : 389,
    directTls,
    startTls: !directTls && tls !== undefined && tls !== false,
    tlsName: typeof v.tls_name === 'string' ? v.tls_name : typeof tlsMap.tls_name === 'string' ? tlsMap.tls_name : undefined,
    caCert: typeof ca === 'string' ? (isAbsolute(ca) ? ca : resolve(baseDir, ca)) : undefined,
    noVerify: tlsMap.no_verify === true,
    baseDn: decodeURIComponent(url.pathname.replace(/^\//, '')),
    usernameAttribute: typeof v.username_attribute === 'string' ? v.username_attribute : 'uid',
    unmanagedUser: v.unmanaged_user === undefined ? undefined : located('unmanaged_user', () => parseUserConfig(v.unmanaged_user, true)),
    connectTimeoutMs: dur('connect_timeout', 4000),
    responseTimeoutMs: dur('response_timeout', 2000),
    poolMaxIdle: Number(pool.max_idle_count ?? pool.min_idle_count ?? 8),
    poolMax: Number(pool.max_count ?? pool.max ?? 64),
    queueChannelSize: Number(v.queue_channel_size ?? 64),
    queueWaitTimeoutMs: dur('queue_wait_timeout', 4000),
    cacheUserCount: Number(v.cache_user_count ?? 128),
    cacheExpireMs: dur('cache_expire_time', 300_000),
    maxMessageSize: Number(v.max_message_size ?? 256),
  });
}

export function parseUserGroupConfig(v: Record<string, unknown>, ctx: ParseContext, type: string): UserGroupConfig {
  const name = v.name as string;
  const staticUsers = v.static_users === undefined ? [] : located('static_users', () => parseUserList(v.static_users));
  return Object.freeze({
    name,
    type,
    raw: v,
    baseDir: ctx.baseDir,
    staticUsers,
    anonymousUser: v.anonymous_user === undefined ? undefined : located('anonymous_user', () => parseUserConfig(v.anonymous_user, true)),
    source: v.source === undefined ? undefined : located('source', () => parseSourceConfig(v.source, ctx.baseDir, name)),
    cachePath: typeof v.cache === 'string' ? (isAbsolute(v.cache) ? v.cache : resolve(ctx.baseDir, v.cache)) : undefined,
    refreshIntervalMs: v.refresh_interval === undefined ? 60_000 : located('refresh_interval', () => parseDuration(v.refresh_interval)),
    ldap: type === 'ldap' ? parseLdap(v, ctx.baseDir) : undefined,
  });
}
