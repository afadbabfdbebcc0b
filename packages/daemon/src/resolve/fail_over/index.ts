/**
 * `fail_over` resolver: ask `primary`; if it has not answered within `fallback_delay`, ask `standby` too. A
 * primary success before the delay wins; after it, the first success wins; if both fail, the last error is
 * returned. With `retry_empty_record`, an empty answer counts as a failure (so the other resolver is asked).
 */
import { parseDuration, SluiceError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { bool, g3, int, objectSchema, str } from '../../runtime/schema-util.js';
import { ResolverCache } from '../cache.js';
import type { Resolver, ResolverStats } from '../types.js';

export interface FailOverConfig extends BaseConfig {
  primary: string;
  standby: string;
  fallbackDelayMs: number;
  negativeTtl: number;
  retryEmptyRecord: boolean;
}

const schema = objectSchema(['fail_over', 'failover'], {
  primary: str('Resolver asked first.'),
  standby: str('Resolver asked when the primary has not answered within fallback_delay.'),
  fallback_delay: g3('duration', 'How long the primary has before the standby is asked too (default 100ms).'),
  negative_ttl: int('Seconds a failure is cached (default 30).', { minimum: 0 }),
  retry_empty_record: bool('Treat an empty answer as a failure and use the other resolver\'s answer (default false).'),
  graceful_stop_wait: g3('duration', 'How long a replaced resolver keeps answering (default 30s).'),
  protective_query_timeout: g3('duration', 'Hard bound of one lookup (default 60s).'),
}, {
  required: ['primary', 'standby'],
  aliases: { delay: 'fallback_delay', fallback_timeout: 'fallback_delay', timeout: 'fallback_delay', protective_cache_ttl: 'negative_ttl' },
});

function parse(v: Record<string, unknown>, ctx: ParseContext): FailOverConfig {
  if (v.primary === v.standby) ctx.fail(['standby'], 'the primary and standby resolvers must differ');
  return Object.freeze({
    name: v.name as string,
    type: 'fail_over',
    raw: v,
    baseDir: ctx.baseDir,
    primary: v.primary as string,
    standby: v.standby as string,
    fallbackDelayMs: v.fallback_delay === undefined ? 100 : parseDuration(v.fallback_delay),
    negativeTtl: (v.negative_ttl as number | undefined) ?? 30,
    retryEmptyRecord: v.retry_empty_record === true,
  });
}

export class FailOverResolver implements Resolver<FailOverConfig> {
  readonly logName = 'fail-over';
  readonly stats: ResolverStats = { queryTotal: 0, queryCached: 0, queryFailed: 0 };
  private readonly cache: ResolverCache;

  constructor(public config: FailOverConfig, private readonly runtime: Runtime) {
    // answers are cached by the next resolvers; only failures are remembered here
    this.cache = new ResolverCache({ positiveMinTtl: 0, positiveMaxTtl: 0, negativeTtl: config.negativeTtl, maxEntries: 4096 });
  }

  get name(): string {
    return this.config.name;
  }

  reload(cfg: FailOverConfig): void {
    this.config = cfg;
    this.cache.clear();
  }

  resolveFamily(host: string, family: 4 | 6): Promise<string[]> {
    this.stats.queryTotal++;
    return this.cache.lookup(`${family}/${host}`, async () => ({ addrs: await this.race(host, family), ttl: 0 }), (cached) => {
      if (cached) this.stats.queryCached++;
    }).catch((e: unknown) => {
      this.stats.queryFailed++;
      throw e;
    });
  }

  private race(host: string, family: 4 | 6): Promise<string[]> {
    const c = this.config;
    const ok = (a: string[]) => !(c.retryEmptyRecord && a.length === 0);
    return new Promise((resolve, reject) => {
      let done = false;
      let failures = 0;
      let standbyStarted = false;
      let lastErr: unknown;
      const fail = (e: unknown) => {
        lastErr = e;
        if (++failures === 2 && !done) {
          done = true;
          reject(lastErr instanceof SluiceError ? lastErr : new SluiceError('RESOLVE_FAILED', String(lastErr)));
        }
      };
      const ask = (name: string, primary: boolean) => {
        this.runtime.resolver(name).resolveFamily(host, family).then((a) => {
          if (done) return;
          if (!ok(a)) {
            if (primary) startStandby();
            return fail(new SluiceError('RESOLVE_NO_ADDRESS', `${name} has no record for ${host}`));
          }
          done = true;
          clearTimeout(timer);
          resolve(a);
        }, (e: unknown) => {
          if (primary) startStandby();
          fail(e);
        });
      };
      const startStandby = () => {
        if (standbyStarted || done) return;
        standbyStarted = true;
        clearTimeout(timer);
        ask(c.standby, false);
      };
      const timer = setTimeout(startStandby, c.fallbackDelayMs);
      ask(c.primary, true);
    });
  }

  async close(): Promise<void> {}
  destroy(): void {
    this.cache.clear();
  }
}

export const failOverType: ObjectTypeDef<FailOverConfig, FailOverResolver> = {
  type: 'fail_over',
  aliases: ['failover'],
  logName: 'fail-over',
  schema,
  parse,
  create: (cfg, runtime) => new FailOverResolver(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: [cfg.primary, cfg.standby] }),
  diff: () => 'reload',
};
