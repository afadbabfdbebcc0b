/**
 * The `c-ares` resolver on Node's dns.Resolver (which is c-ares underneath), with g3's cache semantics.
 */
import { Resolver as DnsResolver } from 'node:dns/promises';
import { SluiceError } from '@sluice/common';
import type { Runtime } from '../../runtime/runtime.js';
import { ResolverQueryStats } from '../../stat/extra-stats.js';
import { ResolverCache, type Answer } from '../cache.js';
import type { Resolver, ResolverStats } from '../types.js';
import type { CAresConfig } from './config.js';
import { logResolveError } from '../resolve-log.js';

const MAX_CACHE_ENTRIES = 65536;

interface DnsError {
  code?: string;
  message: string;
}

function classify(e: unknown, host: string): SluiceError {
  const code = (e as DnsError).code ?? 'UNKNOWN';
  if (code === 'ETIMEOUT') return new SluiceError('RESOLVE_TIMEOUT', `dns timeout resolving ${host}`, { cause: e });
  if (code === 'ENOTFOUND') return new SluiceError('RESOLVE_FAILED', `domain ${host} not found`, { cause: e });
  return new SluiceError('RESOLVE_FAILED', `dns error ${code} resolving ${host}`, { cause: e });
}

/** c-ares error codes onto g3's driver/server failure counters. */
function countFailure(qs: ResolverQueryStats, code: string | undefined): void {
  switch (code) {
    case 'ETIMEOUT': qs.driverTimeout++; break;
    case 'ECONNREFUSED': qs.driverRefused++; break;
    case 'EBADRESP': case 'EFORMERR': qs.serverMalformed++; break;
    case 'EREFUSED': qs.serverRefused++; break;
    case 'ENOTFOUND': qs.serverNotFound++; break;
    case 'ESERVFAIL': qs.serverServFail++; break;
    default: qs.driverMalformed++;
  }
}

export class CAresResolver implements Resolver<CAresConfig> {
  readonly logName = 'c-ares';
  readonly stats: ResolverStats = { queryTotal: 0, queryCached: 0, queryFailed: 0 };
  /** per record type, for `resolver.query.*{rr_type}` metrics */
  readonly queryStats = { A: new ResolverQueryStats(), AAAA: new ResolverQueryStats() };
  private inflightCount = 0;
  private dns: DnsResolver;
  private readonly cache: ResolverCache;
  private closed = false;

  constructor(public config: CAresConfig, private readonly runtime: Runtime) {
    this.dns = this.makeDriver(config);
    this.cache = new ResolverCache(this.policy(config));
  }

  get name(): string {
    return this.config.name;
  }

  private policy(c: CAresConfig) {
    return { positiveMinTtl: c.positiveMinTtl, positiveMaxTtl: c.positiveMaxTtl, negativeTtl: c.negativeTtl, maxEntries: MAX_CACHE_ENTRIES };
  }

  private makeDriver(c: CAresConfig): DnsResolver {
    const r = new DnsResolver({ timeout: c.eachTimeoutMs, tries: c.eachTries });
    if (c.servers.length > 0) r.setServers(c.servers);
    if (c.bindIpv4 || c.bindIpv6) r.setLocalAddress(c.bindIpv4 ?? '0.0.0.0', c.bindIpv6 ?? '::0');
    return r;
  }

  reload(cfg: CAresConfig): void {
    this.config = cfg;
    this.dns = this.makeDriver(cfg);
    this.cache.setPolicy(this.policy(cfg));
    this.cache.clear();
  }

  resolveFamily(host: string, family: 4 | 6): Promise<string[]> {
    if (this.closed) return Promise.reject(new SluiceError('RESOLVE_DENIED', `resolver ${this.name} is closed`));
    const qs = family === 4 ? this.queryStats.A : this.queryStats.AAAA;
    return this.cache.countedLookup(host, family, this.stats, qs, () => this.query(host, family, qs));
  }

  private async query(host: string, family: 4 | 6, qs: ResolverQueryStats): Promise<Answer> {
    const started = performance.now();
    qs.driver++;
    qs.doingLength = ++this.inflightCount;
    const dns = this.dns;
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        dns.cancel();
        reject(new SluiceError('RESOLVE_TIMEOUT', `dns lookup of ${host} exceeded protective_query_timeout`));
      }, this.config.protectiveQueryTimeoutMs);
    });
    try {
      const q = family === 4 ? dns.resolve4(host, { ttl: true }) : dns.resolve6(host, { ttl: true });
      const records = await Promise.race([q, guard]);
      let ttl = Infinity;
      const addrs = records.map((r) => {
        if (r.ttl < ttl) ttl = r.ttl;
        return r.address;
      });
      return { addrs, ttl: addrs.length ? ttl : this.config.negativeTtl };
    } catch (e) {
      const code = (e as DnsError).code;
      // The name exists but has no record of this family: an empty answer, not a failure.
      if (code === 'ENODATA') return { addrs: [], ttl: this.config.negativeTtl };
      const err = e instanceof SluiceError ? e : classify(e, host);
      this.stats.queryFailed++;
      countFailure(qs, code);
      this.logError(host, family, err, performance.now() - started);
      throw err;
    } finally {
      clearTimeout(timer);
      qs.doingLength = --this.inflightCount;
    }
  }

  private logError(host: string, family: 4 | 6, err: SluiceError, durMs: number): void {
    const logger = this.runtime.logs.forResolver(this.name);
    if (!logger.enabled) return;
    const subtype = (err.cause as DnsError | undefined)?.code;
    logResolveError(logger, { resolverType: this.logName, resolverName: this.name, family, domain: host, durMs, error: err, subtype }, [
      ['server', this.dns.getServers().join(' ')],
    ]);
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.dns.cancel();
    this.cache.clear();
  }
}
