import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { BasicUserGroup } from '../group.js';
import { parseUserGroupConfig, type UserGroupConfig } from '../group-config.js';
import { basicSchema } from '../schema.js';

export const basicUserGroupType: ObjectTypeDef<UserGroupConfig, BasicUserGroup> = {
  type: 'basic',
  logName: 'basic',
  schema: basicSchema,
  parse: (v, ctx) => parseUserGroupConfig(v, ctx, 'basic'),
  create: (cfg, runtime) => new BasicUserGroup(cfg, runtime),
  // users, sources and limits all apply in place; live users with unchanged configs keep their counters
  diff: (a, b) => (a.baseDir === b.baseDir && JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
