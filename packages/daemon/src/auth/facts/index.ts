import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseUserGroupConfig, type UserGroupConfig } from '../group-config.js';
import { factsSchema } from '../schema.js';
import { FactsUserGroup } from './facts-group.js';

export const factsUserGroupType: ObjectTypeDef<UserGroupConfig, FactsUserGroup> = {
  type: 'facts',
  logName: 'facts',
  schema: factsSchema,
  parse: (v, ctx) => parseUserGroupConfig(v, ctx, 'facts'),
  create: (cfg, runtime) => new FactsUserGroup(cfg, runtime),
  diff: (a, b) => (a.baseDir === b.baseDir && JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
