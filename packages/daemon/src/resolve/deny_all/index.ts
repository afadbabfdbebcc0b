/** `deny_all`: refuses every lookup. Also the stand-in for a resolver name that does not exist. */
import { SluiceError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef } from '../../runtime/object-def.js';
import { objectSchema } from '../../runtime/schema-util.js';
import type { Resolver, ResolverStats } from '../types.js';

export class DenyAllResolver implements Resolver {
  readonly logName = 'deny-all';
  readonly stats: ResolverStats = { queryTotal: 0, queryCached: 0, queryFailed: 0 };
  constructor(public config: BaseConfig) {}
  get name(): string {
    return this.config.name;
  }
  resolveFamily(host: string): Promise<string[]> {
    this.stats.queryTotal++;
    this.stats.queryFailed++;
    return Promise.reject(new SluiceError('RESOLVE_DENIED', `resolver ${this.name} denies all lookups (${host})`));
  }
  reload(cfg: BaseConfig): void {
    this.config = cfg;
  }
  async close(): Promise<void> {}
  destroy(): void {}
}

export const denyAllType: ObjectTypeDef<BaseConfig, DenyAllResolver> = {
  type: 'deny_all',
  aliases: ['denyall'],
  logName: 'deny-all',
  schema: objectSchema(['deny_all', 'denyall'], {}),
  parse: (v, ctx) => Object.freeze({ name: v.name as string, type: 'deny_all', raw: v, baseDir: ctx.baseDir }),
  create: (cfg) => new DenyAllResolver(cfg),
};
