/**
 * sluice's `redis` user source. Users live in one Redis hash (field = user name, value = the user as JSON);
 * any node that changes it announces the change on a channel, and every node subscribed re-reads the hash at
 * once, so a user added anywhere is usable everywhere within a second. The key's keyspace notifications are
 * watched too, for tools that edit the hash directly on a server with `notify-keyspace-events` enabled.
 * When Redis is down the group keeps the users it has (and starts from its cache file).
 */
import { Redis } from 'ioredis';
import type { RedisSourceConfig } from './source-config.js';

export class RedisUserSource {
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private closed = false;
  private started = false;

  constructor(private readonly cfg: RedisSourceConfig, private readonly onChange: () => void, private readonly onError: (m: string) => void) {
    const opts = {
      host: cfg.host,
      port: cfg.port,
      db: cfg.db,
      username: cfg.username,
      password: cfg.password,
      connectTimeout: cfg.connectTimeoutMs,
      // fail commands at once while disconnected: the caller keeps its users and retries at the next refresh
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    };
    this.cmd = new Redis(opts);
    this.sub = new Redis(opts);
    let lastError = '';
    const report = (e: Error) => {
      // one line per distinct failure, not one per reconnect attempt
      if (e.message !== lastError) this.onError(`redis ${cfg.host}:${cfg.port}: ${e.message}`);
      lastError = e.message;
    };
    this.cmd.on('error', report);
    this.sub.on('error', report);
    this.sub.on('message', () => this.onChange());
    // after a reconnect users may have changed while we were away: re-read once each connection is back
    // (the subscriber re-subscribes by itself)
    this.cmd.on('ready', () => {
      lastError = '';
      if (this.started) this.onChange();
    });
    this.sub.on('ready', () => {
      if (this.started) this.onChange();
    });
  }

  async start(): Promise<void> {
    await Promise.allSettled([this.cmd.connect(), this.sub.connect()]);
    this.started = true;
    if (this.closed) return;
    try {
      await this.sub.subscribe(this.cfg.channel, `__keyspace@${this.cfg.db}__:${this.cfg.key}`);
    } catch (e) {
      this.onError(`redis subscribe: ${(e as Error).message}`);
    }
  }

  /** The users in the hash, as a JSON-shaped list. Throws when Redis can't be read. */
  async fetch(): Promise<unknown[]> {
    const all = await this.cmd.hgetall(this.cfg.key);
    return Object.entries(all).map(([name, json]) => {
      const u = JSON.parse(json) as Record<string, unknown>;
      return { ...u, name };
    });
  }

  /** Replace the users in Redis (one MULTI), then tell every node. */
  async publish(users: Array<Record<string, unknown>>): Promise<void> {
    const tx = this.cmd.multi().del(this.cfg.key);
    for (const u of users) tx.hset(this.cfg.key, String(u.name), JSON.stringify(u));
    tx.publish(this.cfg.channel, 'publish');
    const res = await tx.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('redis transaction aborted');
  }

  close(): void {
    this.closed = true;
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
