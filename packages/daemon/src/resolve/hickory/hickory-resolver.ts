/**
 * The `hickory` resolver: sluice's own stub resolver (the DNS codec in @sluice/protocol) over plain DNS,
 * dns-over-tls or dns-over-https, with g3's cache semantics (resolve/cache.ts) and g3's server schedule: the
 * first server is asked at once, the next one after each `retry_interval` without an answer (or at once when a
 * server failed), the first usable answer wins, and once every server was asked the answers are awaited
 * `each_timeout - retry_interval` longer. `protective_query_timeout` bounds the whole lookup.
 */
import { SluiceError } from '@sluice/common';
import { DNS_RCODE, DNS_TYPE, extractAddresses, type DnsMessage } from '@sluice/protocol';
import type { Runtime } from '../../runtime/runtime.js';
import { ResolverQueryStats } from '../../stat/extra-stats.js';
import { ResolverCache, type Answer, type CachePolicy } from '../cache.js';
import type { Resolver, ResolverStats } from '../types.js';
import { encryptionSummary, type HickoryConfig } from './config.js';
import { ExchangeError } from './exchange-error.js';
import { ServerClient } from './server-client.js';
import { logResolveError } from '../resolve-log.js';

const MAX_CACHE_ENTRIES = 65536;

const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

/** The cause of a lookup that ended with a server's error rcode; its message is the rcode name (error_subtype). */
class RcodeError extends Error {
  constructor(readonly rcode: number) {
    super(RCODE_NAMES[rcode] ?? `rcode ${rcode}`);
    this.name = 'RcodeError';
  }
}

/** A server answer that ends the lookup: it has the addresses, or says with authority there are none. */
function isFinal(m: DnsMessage): boolean {
  return m.rcode === DNS_RCODE.NOERROR || m.rcode === DNS_RCODE.NXDOMAIN;
}

/** What the lookup ended with, onto g3's failure counters and a SluiceError. */
function failure(last: unknown, host: string, qs: ResolverQueryStats): SluiceError {
  if (last instanceof ExchangeError) {
    switch (last.kind) {
      case 'timeout': qs.driverTimeout++; return new SluiceError('RESOLVE_TIMEOUT', `dns timeout resolving ${host}: ${last.message}`, { cause: last });
      case 'refused': qs.driverRefused++; break;
      case 'malformed': qs.serverMalformed++; break;
      default: qs.driverMalformed++;
    }
    return new SluiceError('RESOLVE_FAILED', `dns error resolving ${host}: ${last.message}`, { cause: last });
  }
  if (last && typeof last === 'object' && 'rcode' in last) {
    const rcode = (last as DnsMessage).rcode;
    const cause = new RcodeError(rcode);
    switch (rcode) {
      case DNS_RCODE.NXDOMAIN: qs.serverNotFound++; return new SluiceError('RESOLVE_FAILED', `domain ${host} not found`, { cause });
      case DNS_RCODE.SERVFAIL: qs.serverServFail++; break;
      case DNS_RCODE.REFUSED: qs.serverRefused++; break;
      default: qs.serverMalformed++;
    }
    return new SluiceError('RESOLVE_FAILED', `dns server answered ${cause.message} for ${host}`, { cause });
  }
  if (last instanceof SluiceError) return last;
  qs.driverMalformed++;
  return new SluiceError('RESOLVE_FAILED', `dns error resolving ${host}: ${String(last)}`, { cause: last });
}

export class HickoryResolver implements Resolver<HickoryConfig> {
  readonly logName = 'hickory';
  readonly stats: ResolverStats = { queryTotal: 0, queryCached: 0, queryFailed: 0 };
  readonly queryStats = { A: new ResolverQueryStats(), AAAA: new ResolverQueryStats() };
  private inflightCount = 0;
  private readonly cache: ResolverCache;
  private clients: ServerClient[];
  /** aborts every exchange of the current clients (close, or reload replacing them) */
  private abort = new AbortController();
  private closed = false;

  constructor(public config: HickoryConfig, private readonly runtime: Runtime) {
    this.cache = new ResolverCache(this.policy(config));
    this.clients = this.makeClients(config);
  }

  get name(): string {
    return this.config.name;
  }

  private policy(c: HickoryConfig): CachePolicy {
    return { positiveMinTtl: c.positiveMinTtl, positiveMaxTtl: c.positiveMaxTtl, negativeTtl: c.negativeTtl, maxEntries: MAX_CACHE_ENTRIES };
  }

  private makeClients(c: HickoryConfig): ServerClient[] {
    return c.servers.map((ip) => new ServerClient(ip, c, this.abort.signal));
  }

  reload(cfg: HickoryConfig): void {
    const oldClients = this.clients;
    const oldAbort = this.abort;
    this.config = cfg;
    this.abort = new AbortController();
    this.clients = this.makeClients(cfg);
    this.cache.setPolicy(this.policy(cfg));
    this.cache.clear();
    // lookups already under way finish on the old servers, within the old protective timeout
    const t = setTimeout(() => {
      oldAbort.abort();
      for (const c of oldClients) c.close();
    }, Math.min(this.config.protectiveQueryTimeoutMs, this.config.gracefulStopWaitMs));
    t.unref();
  }

  resolveFamily(host: string, family: 4 | 6): Promise<string[]> {
    if (this.closed) return Promise.reject(new SluiceError('RESOLVE_DENIED', `resolver ${this.name} is closed`));
    const qs = family === 4 ? this.queryStats.A : this.queryStats.AAAA;
    return this.cache.countedLookup(host, family, this.stats, qs, () => this.query(host, family, qs));
  }

  private async query(host: string, family: 4 | 6, qs: ResolverQueryStats): Promise<Answer> {
    const started = performance.now();
    const type = family === 4 ? DNS_TYPE.A : DNS_TYPE.AAAA;
    qs.driver++;
    qs.doingLength = ++this.inflightCount;
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SluiceError('RESOLVE_TIMEOUT', `dns lookup of ${host} exceeded protective_query_timeout`)),
        this.config.protectiveQueryTimeoutMs);
    });
    try {
      const msg = await Promise.race([this.race(host, type), guard]);
      if (msg.rcode === DNS_RCODE.NXDOMAIN) throw msg;
      const a = extractAddresses(msg, host, type);
      // a name without records of this family is an empty answer, not a failure
      return { addrs: a.addresses, ttl: a.addresses.length > 0 ? a.ttl! : this.config.negativeTtl };
    } catch (e) {
      if (e instanceof SluiceError && e.code === 'RESOLVE_TIMEOUT' && !(e.cause instanceof ExchangeError)) qs.driverTimeout++;
      const err = e instanceof SluiceError ? e : failure(e, host, qs);
      this.stats.queryFailed++;
      this.logError(host, type, err, performance.now() - started);
      throw err;
    } finally {
      clearTimeout(timer);
      qs.doingLength = --this.inflightCount;
    }
  }

  /** Asks the servers on g3's schedule; resolves with the first final answer, rejects with the last failure. */
  private race(host: string, type: number): Promise<DnsMessage> {
    const clients = this.clients;
    const { retryIntervalMs, eachTimeoutMs } = this.config;
    return new Promise((resolve, reject) => {
      let next = 0;
      let waiting = 0;
      let done = false;
      let last: unknown;
      let tick: NodeJS.Timeout | undefined;
      let endWait: NodeJS.Timeout | undefined;
      const finish = (msg: DnsMessage | null) => {
        if (done) return;
        done = true;
        clearTimeout(tick);
        clearTimeout(endWait);
        if (msg) resolve(msg);
        else reject(last ?? new ExchangeError('timeout', `no answer from ${clients.map((c) => c.label).join(' ')}`));
      };
      const ask = () => {
        clearTimeout(tick);
        if (done || next >= clients.length) return;
        const c = clients[next++]!;
        waiting++;
        c.query(host, type).then((msg) => {
          waiting--;
          if (isFinal(msg)) return finish(msg);
          last = msg;
          settleOrMove();
        }, (e: unknown) => {
          waiting--;
          last = e;
          settleOrMove();
        });
        // the next server after retry_interval; after the last one, the final wait
        tick = setTimeout(next < clients.length ? ask : finalWait, retryIntervalMs);
      };
      const finalWait = () => {
        endWait = setTimeout(() => finish(null), Math.max(0, eachTimeoutMs - retryIntervalMs));
      };
      // a failed server need not wait for its retry_interval: the next one is asked at once
      const settleOrMove = () => {
        if (done) return;
        if (next < clients.length) return ask();
        if (waiting === 0) finish(null);
      };
      ask();
    });
  }

  private logError(host: string, type: number, err: SluiceError, durMs: number): void {
    const logger = this.runtime.logs.forResolver(this.name);
    if (!logger.enabled) return;
    const c = err.cause;
    const subtype = c instanceof ExchangeError ? c.kind : c instanceof RcodeError ? c.message : undefined;
    logResolveError(logger, { resolverType: this.logName, resolverName: this.name, family: type === DNS_TYPE.A ? 4 : 6, domain: host, durMs, error: err, subtype }, [
      ['bind_addr', this.config.bindIp ?? 'None'],
      ['server', this.config.servers.join(' ')],
      ['server_port', String(this.config.serverPort)],
      ['encryption', encryptionSummary(this.config)],
    ]);
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const c of this.clients) c.close();
    this.cache.clear();
  }
}
