import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { CAresResolver } from './c-ares-resolver.js';
import { parseCAresConfig, type CAresConfig } from './config.js';
import { cAresSchema } from './schema.js';

export const cAresType: ObjectTypeDef<CAresConfig, CAresResolver> = {
  type: 'c_ares',
  aliases: ['cares'],
  logName: 'c-ares',
  schema: cAresSchema,
  parse: parseCAresConfig,
  create: (cfg, runtime) => new CAresResolver(cfg, runtime),
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
