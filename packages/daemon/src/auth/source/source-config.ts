/**
 * `source:` of a user group: where dynamic users come from. g3's `file` source (`{type: file, path, format}`
 * or `file:///abs/path?format=json`), and sluice's `redis` source (users kept in a Redis hash shared by a
 * fleet; every change is announced on a channel so each node re-reads within a second).
 */
import { isAbsolute, resolve } from 'node:path';
import { ValueError } from '@sluice/common';

export interface FileSourceConfig {
  readonly kind: 'file';
  readonly path: string;
  readonly format: 'json' | 'yaml';
}

export interface RedisSourceConfig {
  readonly kind: 'redis';
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** the hash holding the users: field = user name, value = the user as JSON */
  readonly key: string;
  /** where a change is announced (also watched: the key's keyspace notifications, when the server emits them) */
  readonly channel: string;
  readonly connectTimeoutMs: number;
}

export type SourceConfig = FileSourceConfig | RedisSourceConfig;

function formatOf(v: unknown, path: string): 'json' | 'yaml' {
  if (v === undefined) return /\.ya?ml$/i.test(path) ? 'yaml' : 'json';
  const f = String(v).toLowerCase();
  if (f !== 'json' && f !== 'yaml' && f !== 'yml') throw new ValueError(`unknown file format '${String(v)}' (json, yaml)`, ['format']);
  return f === 'json' ? 'json' : 'yaml';
}

function parseRedisUrl(url: URL, group: string, base: Partial<Record<string, unknown>>): RedisSourceConfig {
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : Number(base.db ?? 0);
  if (!Number.isInteger(db) || db < 0) throw new ValueError(`invalid redis db in '${url.href}'`);
  const key = String(base.key ?? url.searchParams.get('key') ?? `sluice:user_group:${group}`);
  return Object.freeze({
    kind: 'redis',
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    db,
    username: url.username ? decodeURIComponent(url.username) : (base.username as string | undefined),
    password: url.password ? decodeURIComponent(url.password) : (base.password as string | undefined),
    key,
    channel: String(base.channel ?? `${key}:changed`),
    connectTimeoutMs: typeof base.connect_timeout_ms === 'number' ? base.connect_timeout_ms : 2000,
  });
}

export function parseSourceConfig(v: unknown, baseDir: string, group: string): SourceConfig {
  if (typeof v === 'string') {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new ValueError(`source must be a map or a URL (file:///path?format=json, redis://host:port/db), got '${v}'`);
    }
    if (url.protocol === 'file:') {
      const path = decodeURIComponent(url.pathname);
      return Object.freeze({ kind: 'file', path, format: formatOf(url.searchParams.get('format') ?? undefined, path) });
    }
    if (url.protocol === 'redis:') return parseRedisUrl(url, group, {});
    throw new ValueError(`unsupported user source scheme '${url.protocol}' (file, redis)`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ValueError('source must be a map or a URL string');
  const m = Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase().replace(/-/g, '_'), x]));
  const type = String(m.type ?? '').toLowerCase();
  if (type === 'file') {
    for (const k of Object.keys(m)) if (!['type', 'path', 'format'].includes(k)) throw new ValueError(`invalid key '${k}' in file source`, [k]);
    if (typeof m.path !== 'string' || m.path === '') throw new ValueError('file source needs a path', ['path']);
    const path = isAbsolute(m.path) ? m.path : resolve(baseDir, m.path);
    return Object.freeze({ kind: 'file', path, format: formatOf(m.format, path) });
  }
  if (type === 'redis') {
    const known = ['type', 'url', 'host', 'port', 'db', 'username', 'password', 'key', 'channel', 'connect_timeout_ms'];
    for (const k of Object.keys(m)) if (!known.includes(k)) throw new ValueError(`invalid key '${k}' in redis source (known: ${known.join(', ')})`, [k]);
    const host = String(m.host ?? '127.0.0.1');
    const url = new URL(typeof m.url === 'string' ? m.url : `redis://${host.includes(':') ? `[${host}]` : host}:${Number(m.port ?? 6379)}/${Number(m.db ?? 0)}`);
    if (url.protocol !== 'redis:') throw new ValueError(`redis source url must start with redis://`, ['url']);
    return parseRedisUrl(url, group, m);
  }
  if (type === 'lua' || type === 'python' || type === 'http') {
    throw new ValueError(`user source type '${type}' is not supported by sluice (file, redis)`, ['type']);
  }
  throw new ValueError(`unknown user source type '${String(m.type)}' (file, redis)`, ['type']);
}
