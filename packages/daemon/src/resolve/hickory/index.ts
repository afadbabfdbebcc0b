import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseHickoryConfig, type HickoryConfig } from './config.js';
import { HickoryResolver } from './hickory-resolver.js';
import { hickorySchema } from './schema.js';

export const hickoryType: ObjectTypeDef<HickoryConfig, HickoryResolver> = {
  type: 'hickory',
  aliases: ['hickory_dns', 'trust_dns'],
  logName: 'hickory',
  schema: hickorySchema,
  parse: parseHickoryConfig,
  create: (cfg, runtime) => new HickoryResolver(cfg, runtime),
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
