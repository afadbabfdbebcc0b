import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseDirectFixedConfig, type DirectFixedConfig } from './config.js';
import { DirectFixedEscaper } from './direct-fixed-escaper.js';
import { directFixedSchema } from './schema.js';

export const directFixedType: ObjectTypeDef<DirectFixedConfig, DirectFixedEscaper> = {
  type: 'direct_fixed',
  logName: 'DirectFixed',
  schema: directFixedSchema,
  parse: parseDirectFixedConfig,
  create: (cfg, runtime) => new DirectFixedEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: cfg.resolver ? [cfg.resolver] : [] }),
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
