/**
 * A rolling TLS session ticket key set (g3's tls_ticketer): one key encrypts new tickets, several decrypt, each
 * decrypt key until its expiry. A key made locally encrypts for half its lifetime, then a new one takes over
 * and the old one still opens tickets until its lifetime ends. With a remote source (Redis), every daemon of a
 * fleet reads the same encrypt key and decrypt set, so a client resumes its session on any of them.
 *
 * Node offers one ticket key per context through its public API (setTicketKeys, 48 bytes). To decrypt with
 * several keys this uses the context's ticket key callback (`enableTicketKeyCallback` + `onticketkeycallback`
 * on the native context, what node itself is built on), checked to exist; without it the current encrypt key
 * is installed with setTicketKeys, so tickets of a replaced key are no longer accepted.
 *
 * Node's ticket cipher is AES-128-CBC with an HMAC-SHA256: a key is a 16-byte name, a 16-byte HMAC secret and
 * the first 16 bytes of g3's 32-byte AES key.
 */
import { randomBytes } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { Redis } from 'ioredis';
import type { RedisTicketSourceConfig, TlsTicketerConfig } from './ticketer-config.js';

export interface TicketKey {
  readonly name: Buffer;
  readonly hmac: Buffer;
  /** the AES-128 key node's ticket cipher uses */
  readonly aes: Buffer;
  /** seconds this key is good for, counted from when it stops encrypting */
  readonly lifetimeS: number;
}

interface DecryptKey {
  key: TicketKey;
  /** ms since the epoch; undefined while the key still encrypts */
  expireAt: number | undefined;
}

/** What node's native ticket callback gets and gives (name, iv, encrypting) → [result, hmac, aes, name?, iv?]. */
type NativeTicketCallback = (name: Buffer, iv: Buffer, enc: boolean) => unknown[];

interface NativeContext {
  enableTicketKeyCallback?: () => void;
  onticketkeycallback?: NativeTicketCallback;
  setTicketKeys(keys: Buffer): void;
}

const ZERO16 = Buffer.alloc(16);

function hexBytes(v: unknown, len: number, what: string): Buffer {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || v.length !== len * 2) {
    throw new Error(`${what} must be ${len} bytes in hex`);
  }
  return Buffer.from(v, 'hex');
}

/** A ticket key from g3's JSON form `{name, aes|aes_key, hmac|hmac_key, lifetime?, expire?}`. */
export function parseTicketKeyJson(text: string, needExpire: boolean): { key: TicketKey; expireAt: number | undefined } {
  const o = JSON.parse(text) as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error('a ticket key must be a JSON object');
  let name: Buffer | undefined;
  let aes: Buffer | undefined;
  let hmac: Buffer | undefined;
  let lifetimeS = 24 * 3600;
  let expireAt: number | undefined;
  for (const [k0, v] of Object.entries(o)) {
    const k = k0.toLowerCase().replace(/-/g, '_');
    if (k === 'name') name = hexBytes(v, 16, 'name');
    else if (k === 'aes' || k === 'aes_key') aes = hexBytes(v, 32, 'aes');
    else if (k === 'hmac' || k === 'hmac_key') hmac = hexBytes(v, 16, 'hmac');
    else if (k === 'lifetime') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error('lifetime must be a u32');
      lifetimeS = v;
    } else if (k === 'expire') {
      const t = typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : NaN;
      if (Number.isNaN(t)) throw new Error('expire must be an RFC 3339 date-time');
      expireAt = t;
    } else throw new Error(`invalid key '${k0}' in a ticket key`);
  }
  if (!name || !aes || !hmac) throw new Error('a ticket key needs name, aes and hmac');
  if (needExpire && expireAt === undefined) throw new Error('a decrypt key needs expire');
  return { key: { name, hmac, aes: aes.subarray(0, 16), lifetimeS }, expireAt };
}

export function randomTicketKey(lifetimeS: number): TicketKey {
  // g3's key shape (32-byte AES); node uses the first 16 bytes
  return { name: randomBytes(16), hmac: randomBytes(16), aes: randomBytes(32).subarray(0, 16), lifetimeS };
}

/** Reads the encrypt key and the decrypt set from Redis, one short-lived command connection per check. */
class RedisTicketSource {
  private readonly client: Redis;

  constructor(private readonly cfg: RedisTicketSourceConfig, onError: (e: Error) => void) {
    this.client = new Redis({
      host: cfg.host,
      port: cfg.port,
      db: cfg.db,
      username: cfg.username,
      password: cfg.password,
      tls: cfg.tls,
      connectTimeout: cfg.connectTimeoutMs,
      commandTimeout: cfg.responseTimeoutMs,
      // fail at once while disconnected: the ticketer keeps its keys and asks again at the next check
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(times * 500, 5000),
    });
    this.client.on('error', onError);
  }

  async fetch(): Promise<{ enc: TicketKey; dec: Array<{ key: TicketKey; expireAt: number }> }> {
    if (this.client.status === 'wait') await this.client.connect();
    const [encText, members] = await Promise.all([this.client.get(this.cfg.encKey), this.client.smembers(this.cfg.decSet)]);
    if (encText === null) throw new Error(`redis key ${this.cfg.encKey} is not set`);
    let enc: TicketKey;
    try {
      enc = parseTicketKeyJson(encText, false).key;
    } catch (e) {
      throw new Error(`invalid encrypt key in redis key ${this.cfg.encKey}: ${(e as Error).message}`);
    }
    const dec = members.map((m, i) => {
      try {
        const k = parseTicketKeyJson(m, true);
        return { key: k.key, expireAt: k.expireAt! };
      } catch (e) {
        throw new Error(`invalid decrypt key #${i} in redis set ${this.cfg.decSet}: ${(e as Error).message}`);
      }
    });
    return { enc, dec };
  }

  close(): void {
    this.client.disconnect();
  }
}

export class RollingTicketer {
  private enc: TicketKey;
  private readonly dec = new Map<string, DecryptKey>();
  /** when a locally made encrypt key is replaced (ms since the epoch) */
  private localRollAt: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly source: RedisTicketSource | null;
  private checking = false;
  private lastError = '';
  /** contexts given the current key with setTicketKeys (no ticket callback in this node) */
  private readonly fallbackContexts = new Set<WeakRef<NativeContext>>();

  constructor(readonly config: TlsTicketerConfig, private readonly warn: (msg: string) => void) {
    this.enc = randomTicketKey(config.localLifetimeS);
    this.dec.set(this.enc.name.toString('hex'), { key: this.enc, expireAt: undefined });
    this.localRollAt = Date.now() + (config.localLifetimeS * 1000) / 2;
    this.source = config.source
      ? new RedisTicketSource(config.source, (e) => this.report(`redis ${config.source!.host}:${config.source!.port}: ${e.message}`))
      : null;
  }

  /** Start the periodic check; the first one runs now, so a fleet shares the remote keys from the start. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.config.checkIntervalMs);
    this.timer.unref();
    void this.check();
  }

  close(): void {
    clearInterval(this.timer);
    this.source?.close();
  }

  /** The key new tickets are encrypted with. */
  get encryptKey(): TicketKey {
    return this.enc;
  }

  /** Names (hex) of the keys that open tickets now. */
  decryptKeyNames(): string[] {
    const now = Date.now();
    return [...this.dec.entries()].filter(([, d]) => d.expireAt === undefined || d.expireAt > now).map(([n]) => n);
  }

  private report(msg: string): void {
    // one line per distinct failure, not one per check
    if (msg !== this.lastError) this.warn(`tls_ticketer: ${msg}`);
    this.lastError = msg;
  }

  /** Drop expired decrypt keys, read the remote source, make a new local key when the current one is due. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = Date.now();
      for (const [n, d] of this.dec) if (d.expireAt !== undefined && d.expireAt <= now) this.dec.delete(n);
      let remoteOk = false;
      if (this.source) {
        try {
          const keys = await this.source.fetch();
          remoteOk = true;
          this.lastError = '';
          this.setEncryptKey(keys.enc);
          const t = Date.now();
          for (const d of keys.dec) {
            const n = d.key.name.toString('hex');
            if (d.expireAt > t && !this.dec.has(n)) this.dec.set(n, { key: d.key, expireAt: d.expireAt });
          }
        } catch (e) {
          this.report(`reading keys failed: ${(e as Error).message}`);
        }
      }
      if (!remoteOk && this.localRollAt <= Date.now()) this.setEncryptKey(randomTicketKey(this.config.localLifetimeS));
    } finally {
      this.checking = false;
    }
  }

  /** A new encrypt key: the old one keeps decrypting until its lifetime ends. */
  setEncryptKey(key: TicketKey): void {
    const name = key.name.toString('hex');
    const oldName = this.enc.name.toString('hex');
    this.localRollAt = Date.now() + (key.lifetimeS * 1000) / 2;
    if (name === oldName) return; // the remote source still names the same key
    const old = this.dec.get(oldName);
    if (old && old.expireAt === undefined) old.expireAt = Date.now() + this.enc.lifetimeS * 1000;
    this.enc = key;
    const known = this.dec.get(name);
    if (known) known.key = key;
    else this.dec.set(name, { key, expireAt: undefined });
    for (const ref of this.fallbackContexts) {
      const c = ref.deref();
      if (c) c.setTicketKeys(ticketKeys48(key));
      else this.fallbackContexts.delete(ref);
    }
  }

  /** Node's callback: encrypt with the current key; decrypt with a known key (2 = renew, the key is not current). */
  private readonly onTicketKey: NativeTicketCallback = (name, _iv, enc) => {
    if (enc) return [1, this.enc.hmac, this.enc.aes, this.enc.name, randomBytes(16)];
    const d = this.dec.get(name.toString('hex'));
    if (!d || (d.expireAt !== undefined && d.expireAt <= Date.now())) return [0, ZERO16, ZERO16];
    return [d.key === this.enc ? 1 : 2, d.key.hmac, d.key.aes];
  };

  /** Make `context` issue and accept this ticketer's tickets. */
  attach(context: SecureContext): void {
    const native = (context as unknown as { context?: NativeContext }).context;
    if (!native) return;
    if (typeof native.enableTicketKeyCallback === 'function') {
      native.enableTicketKeyCallback();
      native.onticketkeycallback = this.onTicketKey;
      return;
    }
    native.setTicketKeys(ticketKeys48(this.enc));
    this.fallbackContexts.add(new WeakRef(native));
  }
}

/** node's 48-byte ticket key layout: name, HMAC secret, AES key. */
function ticketKeys48(k: TicketKey): Buffer {
  return Buffer.concat([k.name, k.hmac, k.aes]);
}

/**
 * A server's ticketer across reloads: the running one is kept while its config is unchanged (its keys stay),
 * otherwise it is closed and a new one started. Returns what the server holds now.
 */
export function reconcileTicketer(
  current: RollingTicketer | null, config: TlsTicketerConfig | undefined, warn: (msg: string) => void,
): RollingTicketer | null {
  if (current && config && JSON.stringify(current.config) === JSON.stringify(config)) return current;
  current?.close();
  if (!config) return null;
  const t = new RollingTicketer(config, warn);
  t.start();
  return t;
}
