/**
 * The `ldap` user group: a password is checked by a simple bind as `<username_attribute>=<user>,<base_dn>`.
 * A user the directory accepts gets its static config if it has one, else the `unmanaged_user` template;
 * anyone else is refused. Binds run on a small pool of connections with a bounded wait queue, and
 * successful checks are cached (by user and a digest of the password) for `cache_expire_time`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Runtime } from '../../runtime/runtime.js';
import { BAD_PASSWORD, BasicUserGroup, UNKNOWN_USER, type AuthResult } from '../group.js';
import type { LdapSettings, UserGroupConfig } from '../group-config.js';
import { User } from '../user.js';
import { LDAP_INVALID_CREDENTIALS, LDAP_SUCCESS, LdapConnection, type LdapConnectOptions } from './ldap-client.js';

const UNAVAILABLE: AuthResult = Object.freeze({ ok: false, why: 'unavailable' });

/** RFC 4514: escape the characters that would change the meaning of a DN attribute value. */
function escapeDnValue(v: string): string {
  let s = v.replace(/[\\,+"<>;=\0]/g, (c) => (c === '\0' ? '\\00' : `\\${c}`));
  if (s.startsWith(' ') || s.startsWith('#')) s = `\\${s}`;
  if (s.endsWith(' ')) s = `${s.slice(0, -1)}\\ `;
  return s;
}

export class LdapUserGroup extends BasicUserGroup {
  private idle: LdapConnection[] = [];
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** user + password digest → expiry (ms) */
  private readonly cache = new Map<string, number>();
  private readonly unmanaged = new Map<string, User>();
  private connectOpts: LdapConnectOptions;

  constructor(config: UserGroupConfig, runtime: Runtime) {
    super(config, runtime);
    this.connectOpts = connectOptions(config.ldap!);
  }

  override reload(cfg: UserGroupConfig): void {
    super.reload(cfg);
    this.connectOpts = connectOptions(cfg.ldap!);
    this.cache.clear();
    this.unmanaged.clear();
    for (const c of this.idle) c.close();
    this.idle = [];
  }

  override destroy(): void {
    super.destroy();
    for (const c of this.idle) c.close();
    this.idle = [];
  }

  override *users(): Iterable<User> {
    yield* super.users();
    yield* this.unmanaged.values();
  }

  private get ldap(): LdapSettings {
    return this.config.ldap!;
  }

  /** The user config a directory-accepted name gets. */
  private accepted(username: string): User | undefined {
    const known = this.user(username);
    if (known) return known;
    const tpl = this.ldap.unmanagedUser;
    if (!tpl) return undefined;
    let u = this.unmanaged.get(username);
    if (!u) {
      u = new User({ ...tpl, name: username }, 'Unmanaged', this.name);
      if (this.unmanaged.size >= this.ldap.cacheUserCount) this.unmanaged.delete(this.unmanaged.keys().next().value!);
      this.unmanaged.set(username, u);
    }
    return u;
  }

  override authenticate(username: string, password: Buffer): AuthResult | Promise<AuthResult> {
    if (username === '' || password.length === 0) return BAD_PASSWORD; // an empty password would be an anonymous bind
    const key = `${username}\0${createHash('sha256').update(password).digest('base64')}`;
    const until = this.cache.get(key);
    if (until !== undefined && until > Date.now()) {
      const user = this.accepted(username);
      return user ? { ok: true, user } : UNKNOWN_USER;
    }
    return this.bindCheck(username, password, key);
  }

  private async bindCheck(username: string, password: Buffer, key: string): Promise<AuthResult> {
    if (!this.user(username) && !this.ldap.unmanagedUser) return UNKNOWN_USER;
    const dn = `${this.ldap.usernameAttribute}=${escapeDnValue(username)}${this.ldap.baseDn ? `,${this.ldap.baseDn}` : ''}`;
    let code: number;
    try {
      code = await this.withConnection((c) => c.bind(dn, password));
    } catch (e) {
      this.runtime.plog.warn(`user group ${this.name}: ldap ${this.ldap.host}:${this.ldap.port}: ${(e as Error).message}`);
      return UNAVAILABLE;
    }
    if (code === LDAP_INVALID_CREDENTIALS) return BAD_PASSWORD;
    if (code !== LDAP_SUCCESS) {
      this.runtime.plog.warn(`user group ${this.name}: ldap bind for a user returned result ${code}`);
      return BAD_PASSWORD;
    }
    const user = this.accepted(username);
    if (!user) return UNKNOWN_USER;
    if (this.cache.size >= this.ldap.cacheUserCount) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, Date.now() + this.ldap.cacheExpireMs);
    return { ok: true, user };
  }

  private async withConnection<T>(fn: (c: LdapConnection) => Promise<T>): Promise<T> {
    await this.acquireSlot();
    let conn: LdapConnection | undefined;
    try {
      while (this.idle.length && !conn) {
        const c = this.idle.pop()!;
        if (!c.broken) conn = c;
      }
      conn ??= await LdapConnection.open(this.connectOpts);
      const r = await fn(conn);
      if (!conn.broken && this.idle.length < this.ldap.poolMaxIdle) this.idle.push(conn);
      else conn.close();
      return r;
    } catch (e) {
      conn?.close();
      throw e;
    } finally {
      this.releaseSlot();
    }
  }

  private acquireSlot(): Promise<void> {
    if (this.active < this.ldap.poolMax) {
      this.active++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.ldap.queueChannelSize) return Promise.reject(new Error('ldap request queue is full'));
    return new Promise<void>((resolve, reject) => {
      const go = () => {
        clearTimeout(timer);
        this.active++;
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(go);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new Error('timed out waiting for an ldap connection'));
      }, this.ldap.queueWaitTimeoutMs);
      this.queue.push(go);
    });
  }

  private releaseSlot(): void {
    this.active--;
    this.queue.shift()?.();
  }
}

function connectOptions(l: LdapSettings): LdapConnectOptions {
  const tls: ConnectionOptions = {
    servername: l.tlsName ?? (/^[0-9.:]+$/.test(l.host) ? undefined : l.host),
    rejectUnauthorized: !l.noVerify,
  };
  if (l.caCert) tls.ca = readFileSync(l.caCert);
  if (l.tlsName) tls.checkServerIdentity = (_h, cert) => (certNameMatches(l.tlsName!, cert.subject?.CN, cert.subjectaltname) ? undefined : new Error(`certificate does not match tls_name ${l.tlsName}`));
  return {
    host: l.host, port: l.port, directTls: l.directTls, startTls: l.startTls, tls,
    connectTimeoutMs: l.connectTimeoutMs, responseTimeoutMs: l.responseTimeoutMs, maxMessageSize: Math.max(64, l.maxMessageSize),
  };
}

function certNameMatches(name: string, cn: string | string[] | undefined, san: string | undefined): boolean {
  const names = (san ?? '').split(', ').filter((s) => s.startsWith('DNS:') || s.startsWith('IP Address:')).map((s) => s.slice(s.indexOf(':') + 1));
  if (typeof cn === 'string') names.push(cn);
  return names.some((n) => n.toLowerCase() === name.toLowerCase());
}
