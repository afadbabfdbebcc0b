import type { BaseConfig, LiveObject } from '../runtime/object-def.js';

export type { QueryStrategy } from '@sluice/common';

export interface ResolverStats {
  queryTotal: number;
  queryCached: number;
  queryFailed: number;
}

export interface Resolver<Cfg extends BaseConfig = BaseConfig> extends LiveObject<Cfg> {
  /** `resolver_type` in logs, e.g. `c-ares`. */
  readonly logName: string;
  readonly stats: ResolverStats;
  /**
   * Addresses of one family for `host` (a domain, never an IP literal). Resolves to an empty list when the
   * name exists without records of that family; rejects with a SluiceError (RESOLVE_*) otherwise.
   */
  resolveFamily(host: string, family: 4 | 6): Promise<string[]>;
}
