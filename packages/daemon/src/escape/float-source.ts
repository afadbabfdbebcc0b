/**
 * Where float escapers get their records (proxy_float peers, direct_float bind addresses): published over the
 * control socket, fetched from a Redis set every `refresh_interval`, and kept in a JSON cache file so a restart
 * starts with the last known set. Records carry an optional `expire` time; expired ones are skipped.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parseDuration, ValueError } from '@sluice/common';
import type { FieldSchema } from '../runtime/schema-util.js';

export interface RedisSource {
  kind: 'redis';
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  setsKey: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
}

export type FloatSource = { kind: 'passive' } | RedisSource;

export const sourceField: FieldSchema = {
  description: 'Where peers come from: null/`passive` (published over the control socket), a map {type: redis, addr, db, username, password, sets_key} or a `redis://[user:pass@]host[:port][/db]?sets_key=KEY` URL.',
  anyOf: [{ type: 'string' }, { type: 'object' }, { type: 'null' }],
};

export function parseFloatSource(v: unknown): FloatSource {
  if (v === undefined || v === null) return { kind: 'passive' };
  if (typeof v === 'string') {
    if (v.trim().toLowerCase() === 'passive') return { kind: 'passive' };
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ValueError(`source '${v}' is not a valid URL`);
    }
    if (u.protocol !== 'redis:') throw new ValueError(`unsupported source URL scheme '${u.protocol}'`);
    const setsKey = u.searchParams.get('sets_key');
    if (!setsKey) throw new ValueError('redis source URL needs ?sets_key=');
    const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
    if (!Number.isInteger(db) || db < 0) throw new ValueError('the path of a redis URL must be a db number');
    return {
      kind: 'redis', host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379, db,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      setsKey, connectTimeoutMs: 5000, responseTimeoutMs: 2000,
    };
  }
  if (typeof v !== 'object') throw new ValueError('source must be a map, a URL or null');
  const m = v as Record<string, unknown>;
  const type = String(m.type ?? '').toLowerCase();
  if (type === 'passive') return { kind: 'passive' };
  if (type !== 'redis') throw new ValueError(`unsupported source type '${String(m.type)}'`);
  const addr = String(m.addr ?? m.address ?? '127.0.0.1:6379');
  const mm = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(addr);
  if (!mm) throw new ValueError(`invalid redis addr '${addr}'`);
  const setsKey = m.sets_key;
  if (typeof setsKey !== 'string' || !setsKey) throw new ValueError('redis source needs sets_key');
  return {
    kind: 'redis', host: mm[1]!, port: mm[2] ? Number(mm[2]) : 6379, db: m.db === undefined ? 0 : Number(m.db),
    username: m.username === undefined ? undefined : String(m.username),
    password: m.password === undefined ? undefined : String(m.password),
    setsKey,
    connectTimeoutMs: m.connect_timeout === undefined ? 5000 : parseDuration(m.connect_timeout),
    responseTimeoutMs: m.response_timeout === undefined ? 2000 : parseDuration(m.response_timeout),
  };
}

export function resolvePath(baseDir: string, p: unknown): string | undefined {
  if (p === undefined || p === null) return undefined;
  const s = String(p);
  return isAbsolute(s) ? s : join(baseDir, s);
}

/** `expire` of a record (RFC 3339 text or epoch seconds) → ms since epoch; undefined = never. */
export function parseExpire(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v * 1000;
  const t = Date.parse(String(v));
  if (Number.isNaN(t)) throw new ValueError(`invalid expire time '${String(v)}'`);
  return t;
}

/** Published data: one record (a map) or an array of them. */
export function asRecords(data: unknown): unknown[] {
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object') return [data];
  throw new ValueError('published data must be a JSON map or an array of maps');
}

export async function loadCache(file: string | undefined): Promise<unknown[] | undefined> {
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined; // no cache yet
  }
  if (text.trim() === '') return [];
  return asRecords(JSON.parse(text));
}

export async function saveCache(file: string | undefined, records: unknown): Promise<void> {
  if (!file) return;
  await writeFile(file, JSON.stringify(records, null, 2));
}

/** Poll a Redis set (SMEMBERS; each member a JSON record) every `intervalMs`, handing the records to `apply`. */
export class RedisPoller {
  private client: import('ioredis').Redis | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly src: RedisSource,
    private readonly intervalMs: number,
    private readonly apply: (records: unknown[]) => Promise<void>,
    private readonly warn: (msg: string) => void,
  ) {}

  async start(): Promise<void> {
    const { Redis } = await import('ioredis');
    if (this.stopped) return;
    this.client = new Redis({
      host: this.src.host, port: this.src.port, db: this.src.db, username: this.src.username, password: this.src.password,
      connectTimeout: this.src.connectTimeoutMs, commandTimeout: this.src.responseTimeoutMs,
      lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true,
      // keep retrying in the background: a redis restart must not stop the escaper
      retryStrategy: (n) => Math.min(n * 200, 2000),
    });
    this.client.on('error', () => {}); // reported per poll below
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped || !this.client) return;
    try {
      const members = await this.client.smembers(this.src.setsKey);
      const records = members.map((m) => JSON.parse(m) as unknown);
      await this.apply(records);
    } catch (e) {
      this.warn(`fetching ${this.src.setsKey} from redis ${this.src.host}:${this.src.port} failed: ${(e as Error).message}`);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client?.disconnect();
    this.client = null;
  }
}
