/**
 * A live user group (types basic, facts, ldap share this; ldap swaps how a password is checked).
 *
 * Users come from `static_users` (they win on a name clash) and a dynamic `source` (file or redis),
 * re-fetched every `refresh_interval`; a failed fetch keeps the users already loaded. Dynamic users are
 * written to the `cache` file after every successful fetch or publish and read back at start, so a restart
 * while the source is down still knows them. Users whose config did not change keep their live object.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ValueError } from '@sluice/common';
import type { Runtime } from '../runtime/runtime.js';
import type { UserStatsEntry } from '../stat/user-stats.js';
import type { UserGroup } from './types.js';
import type { UserGroupConfig } from './group-config.js';
import { fetchFileUsers } from './source/file-source.js';
import { RedisUserSource } from './source/redis-source.js';
import { parseUserList, type UserConfig } from './user-config.js';
import { User, type UserType } from './user.js';
import { unappliedUserOptions } from './user-socket-opts.js';

export type AuthResult =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly why: 'unknown_user' | 'bad_password' | 'unavailable' };

const BAD_PASSWORD: AuthResult = Object.freeze({ ok: false, why: 'bad_password' });
const UNKNOWN_USER: AuthResult = Object.freeze({ ok: false, why: 'unknown_user' });

function sameUserConfig(a: UserConfig, b: UserConfig): boolean {
  return JSON.stringify(a.raw) === JSON.stringify(b.raw);
}

/** New live users for `configs`, reusing `old` objects whose config is unchanged. */
function liveUsers(
  configs: readonly UserConfig[], old: ReadonlyMap<string, User>, type: UserType, group: string, warn: (m: string) => void,
): Map<string, User> {
  const m = new Map<string, User>();
  for (const c of configs) {
    const prev = old.get(c.name);
    m.set(c.name, prev && sameUserConfig(prev.config, c) ? prev : newUser(c, type, group, warn));
  }
  return m;
}

/** A live user; socket options Node cannot set are named once, as the user is loaded. */
function newUser(c: UserConfig, type: UserType, group: string, warn: (m: string) => void): User {
  const unapplied = unappliedUserOptions(c);
  if (unapplied.length > 0) warn(`user group ${group}: user ${c.name}: ${unapplied.join(', ')} not applied (no Node.js socket API)`);
  return new User(c, type, group);
}

export class BasicUserGroup implements UserGroup<UserGroupConfig> {
  logName = 'basic';
  protected staticUsers = new Map<string, User>();
  protected dynamicUsers = new Map<string, User>();
  protected anonymous: User | undefined;
  private timer: NodeJS.Timeout | undefined;
  private redis: RedisUserSource | undefined;
  private fetching: Promise<void> | null = null;
  private refetch = false;
  private closed = false;
  /** bumped whenever the user set changes; lets callers cache a lookup */
  generation = 0;

  private readonly warn = (m: string): void => this.runtime.plog.warn(m);

  constructor(public config: UserGroupConfig, protected readonly runtime: Runtime) {
    this.logName = config.type;
    this.applyStatic(config);
  }

  get name(): string {
    return this.config.name;
  }

  private applyStatic(cfg: UserGroupConfig): void {
    this.staticUsers = liveUsers(cfg.staticUsers, this.staticUsers, 'Static', cfg.name, this.warn);
    const a = cfg.anonymousUser;
    this.anonymous = a ? (this.anonymous && sameUserConfig(this.anonymous.config, a) ? this.anonymous : newUser(a, 'Anonymous', cfg.name, this.warn)) : undefined;
    this.generation++;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------

  start(): void {
    void this.startSource();
  }

  private async startSource(): Promise<void> {
    const cfg = this.config;
    if (cfg.cachePath) await this.loadCache(cfg.cachePath);
    if (cfg.source?.kind === 'redis') {
      this.redis = new RedisUserSource(cfg.source, () => this.refresh(), (m) => this.runtime.plog.warn(`user group ${this.name}: ${m}`));
      await this.redis.start();
    }
    if (this.closed) return;
    this.refresh();
    this.timer = setInterval(() => this.onTick(), Math.max(100, cfg.refreshIntervalMs));
    this.timer.unref();
  }

  private onTick(): void {
    // expired users stay listed (g3 answers them as expired), but a refresh picks up their replacement
    this.refresh();
  }

  reload(cfg: UserGroupConfig): void {
    const sourceChanged = JSON.stringify(cfg.source) !== JSON.stringify(this.config.source) ||
      cfg.refreshIntervalMs !== this.config.refreshIntervalMs || cfg.cachePath !== this.config.cachePath;
    this.config = cfg;
    this.applyStatic(cfg);
    if (sourceChanged) {
      this.stopSource();
      if (!cfg.source) {
        this.dynamicUsers = new Map();
        this.generation++;
      }
      this.closed = false;
      void this.startSource();
    }
  }

  private stopSource(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.redis?.close();
    this.redis = undefined;
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.closed = true;
    this.stopSource();
  }

  // ---- dynamic users ------------------------------------------------------------------------------------

  /** Fetch the source now (coalesced: a fetch in flight is followed by at most one more). */
  refresh(): void {
    if (!this.config.source || this.closed) return;
    if (this.fetching) {
      this.refetch = true;
      return;
    }
    this.fetching = this.fetchOnce().finally(() => {
      this.fetching = null;
      if (this.refetch) {
        this.refetch = false;
        this.refresh();
      }
    });
  }

  /** Wait for the fetch in flight, if any (tests, publish). */
  async settled(): Promise<void> {
    while (this.fetching) await this.fetching;
  }

  private async fetchOnce(): Promise<void> {
    const src = this.config.source!;
    let raw: unknown;
    try {
      if (src.kind === 'file') raw = await fetchFileUsers(src);
      else if (this.redis) raw = await this.redis.fetch();
      else return;
    } catch (e) {
      this.runtime.plog.warn(`user group ${this.name}: fetching users failed, keeping ${this.dynamicUsers.size} users: ${(e as Error).message}`);
      return;
    }
    if (this.closed) return;
    try {
      this.setDynamic(raw);
    } catch (e) {
      this.runtime.plog.warn(`user group ${this.name}: fetched users are invalid, keeping the old ones: ${describeError(e)}`);
      return;
    }
    if (this.config.cachePath) await this.saveCache(this.config.cachePath, raw);
  }

  /** Replace the dynamic users with a JSON-shaped list; throws (keeping the old users) if it is invalid. */
  setDynamic(raw: unknown): void {
    const configs = parseUserList(raw);
    this.dynamicUsers = liveUsers(configs, this.dynamicUsers, 'Dynamic', this.name, this.warn);
    this.generation++;
  }

  private async loadCache(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return; // no cache yet
    }
    try {
      this.setDynamic(JSON.parse(text));
    } catch (e) {
      this.runtime.plog.warn(`user group ${this.name}: ignoring cache file ${path}: ${describeError(e)}`);
    }
  }

  private async saveCache(path: string, raw: unknown): Promise<void> {
    // write beside and rename, so a crash never leaves half a cache
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, JSON.stringify(raw), { mode: 0o600 });
      await rename(tmp, path);
    } catch (e) {
      this.runtime.plog.warn(`user group ${this.name}: writing cache ${path} failed: ${(e as Error).message}`);
    }
  }

  /**
   * Control socket publish: replace the dynamic users. With a redis source the users go to Redis and every
   * node (this one included) picks them up from there; otherwise they apply here and go to the cache file.
   */
  async publish(jsonText: string): Promise<number> {
    let raw: unknown;
    try {
      raw = JSON.parse(jsonText);
    } catch (e) {
      throw new Error(`invalid json: ${(e as Error).message}`);
    }
    const configs = parseUserList(raw); // validate before anything changes
    if (this.redis) {
      await this.redis.publish(raw as Array<Record<string, unknown>>);
      await this.settled();
      this.refresh();
      await this.settled();
      return configs.length;
    }
    this.setDynamic(raw);
    if (this.config.cachePath) await this.saveCache(this.config.cachePath, raw);
    return configs.length;
  }

  listStatic(): string[] {
    return [...this.staticUsers.keys()].sort();
  }

  listDynamic(): string[] {
    return [...this.dynamicUsers.keys()].sort();
  }

  // ---- lookups on the hot path --------------------------------------------------------------------------

  /** A configured user by name (static users win over dynamic ones). */
  user(name: string): User | undefined {
    return this.staticUsers.get(name) ?? this.dynamicUsers.get(name);
  }

  anonymousUser(): User | undefined {
    return this.anonymous;
  }

  /** Check a user name and password. Sync for basic groups; ldap groups may ask the directory. */
  authenticate(username: string, password: Buffer): AuthResult | Promise<AuthResult> {
    const user = this.user(username);
    if (!user) return UNKNOWN_USER;
    return user.checkPassword(password) ? { ok: true, user } : BAD_PASSWORD;
  }

  /** The emitter's hook (stat/user-stats.ts UserStatsSource): every counter set of every live user. */
  forEachUserStats(cb: (entry: UserStatsEntry) => void): void {
    for (const u of this.users()) u.forEachStats(cb);
  }

  /** Every live user (for stats). */
  *users(): Iterable<User> {
    yield* this.staticUsers.values();
    yield* this.dynamicUsers.values();
    if (this.anonymous) yield this.anonymous;
  }
}

function describeError(e: unknown): string {
  if (e instanceof ValueError && e.path.length) return `${e.path.join('.')}: ${e.message}`;
  return (e as Error).message;
}

export { BAD_PASSWORD, UNKNOWN_USER };
