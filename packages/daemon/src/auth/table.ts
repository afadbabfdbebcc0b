/** User group types, keyed by g3's `type:` string (normalised; a group without `type` is `basic`). */
import type { TypeTable } from '../runtime/object-def.js';
import { basicUserGroupType } from './basic/index.js';
import { factsUserGroupType } from './facts/index.js';
import { ldapUserGroupType } from './ldap/index.js';

export const USER_GROUP_TYPES: TypeTable = {
  basic: basicUserGroupType,
  facts: factsUserGroupType,
  ldap: ldapUserGroupType,
};
