import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseUserGroupConfig, type UserGroupConfig } from '../group-config.js';
import { ldapSchema } from '../schema.js';
import { LdapUserGroup } from './ldap-group.js';

export const ldapUserGroupType: ObjectTypeDef<UserGroupConfig, LdapUserGroup> = {
  type: 'ldap',
  logName: 'ldap',
  schema: ldapSchema,
  parse: (v, ctx) => parseUserGroupConfig(v, ctx, 'ldap'),
  create: (cfg, runtime) => new LdapUserGroup(cfg, runtime),
  diff: (a, b) => (a.baseDir === b.baseDir && JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : 'reload'),
};
