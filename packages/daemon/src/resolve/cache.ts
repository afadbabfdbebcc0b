/**
 * A TTL-bounded answer cache with in-flight de-duplication: concurrent lookups of one name share one query,
 * answers live between the configured min and max TTL, failures are cached for the negative TTL.
 */
import type { ResolverQueryStats } from '../stat/extra-stats.js';
import type { ResolverStats } from './types.js';

export interface CachePolicy {
  positiveMinTtl: number;
  positiveMaxTtl: number;
  negativeTtl: number;
  /** entries kept at most; the oldest go first */
  maxEntries: number;
}

interface Entry {
  addrs: string[] | null;
  error: Error | null;
  expireAt: number;
}

export interface Answer {
  addrs: string[];
  /** seconds the records may be kept, as the server said */
  ttl: number;
}

export class ResolverCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<string[]>>();
  constructor(private policy: CachePolicy) {}

  setPolicy(p: CachePolicy): void {
    this.policy = p;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * A resolver's A/AAAA lookup through the cache, kept in the counters every caching resolver reports
   * (resolver.query.* and the per-type cache gauges).
   */
  countedLookup(host: string, family: 4 | 6, stats: ResolverStats, qs: ResolverQueryStats, query: () => Promise<Answer>): Promise<string[]> {
    stats.queryTotal++;
    qs.total++;
    const p = this.lookup(`${family}/${host}`, query, (cached) => {
      if (cached) {
        stats.queryCached++;
        qs.cached++;
      }
    });
    qs.cacheLength = this.entries.size;
    qs.cacheCapacity = this.policy.maxEntries;
    return p;
  }

  /** `hit` is told whether the answer came from the cache (for stats). */
  lookup(key: string, query: () => Promise<Answer>, hit: (cached: boolean) => void): Promise<string[]> {
    const now = Date.now();
    const e = this.entries.get(key);
    if (e && e.expireAt > now) {
      hit(true);
      return e.error ? Promise.reject(e.error) : Promise.resolve(e.addrs!);
    }
    if (e) this.entries.delete(key);
    const pending = this.inflight.get(key);
    if (pending) {
      hit(true);
      return pending;
    }
    hit(false);
    const p = query().then(
      (ans) => {
        const ttl = Math.min(Math.max(ans.ttl, this.policy.positiveMinTtl), this.policy.positiveMaxTtl);
        this.store(key, { addrs: ans.addrs, error: null, expireAt: Date.now() + ttl * 1000 });
        return ans.addrs;
      },
      (err: Error) => {
        this.store(key, { addrs: null, error: err, expireAt: Date.now() + this.policy.negativeTtl * 1000 });
        throw err;
      },
    );
    this.inflight.set(key, p);
    const clear = () => this.inflight.delete(key);
    p.then(clear, clear);
    return p;
  }

  private store(key: string, e: Entry): void {
    if (this.entries.size >= this.policy.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, e);
  }

  clear(): void {
    this.entries.clear();
  }
}
