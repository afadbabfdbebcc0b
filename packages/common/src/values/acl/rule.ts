/**
 * The shape shared by every ACL rule value (sphinx configuration/values/acl.rst):
 *
 * - a map `{default: <action>, <action>: record | [records], ...}`, or
 * - a bare record or a list of records, all taking the rule's "found" action (permit for most rules).
 *
 * Records are added in key order and a later record for the same target replaces an earlier one, as in
 * g3proxy's builders (HashMap inserts).
 */
import { within } from '../errors.js';
import { isMap, normalizeKey, type YamlMap } from '../primitives.js';
import { aclActionFromName, parseAclAction, unknownActionKey, type AclAction } from './action.js';

export interface AclRuleShape {
  /** action for records given without an action key */
  readonly foundAction: AclAction;
  /**
   * For rules whose records may themselves be maps (regex `{parent, regex}`): tells such a record apart
   * from the action map. g3proxy only accepts map records inside an action key or list; recognising a lone
   * one is a convenience that cannot change the meaning of a valid g3proxy config.
   */
  readonly isRecordMap?: (m: YamlMap) => boolean;
}

/**
 * Walks a rule value, calling `add(action, record)` for each record (errors get the record's path), and
 * returns the `default` action if the value set one.
 */
export function walkAclRule(v: unknown, shape: AclRuleShape, add: (action: AclAction, record: unknown) => void): AclAction | undefined {
  if (isMap(v) && !shape.isRecordMap?.(v)) {
    let missed: AclAction | undefined;
    for (const [key, value] of Object.entries(v)) {
      if (normalizeKey(key) === 'default') {
        missed = within(key, () => parseAclAction(value));
        continue;
      }
      const action = aclActionFromName(key);
      if (!action) throw unknownActionKey(key);
      within(key, () => {
        if (Array.isArray(value)) value.forEach((record, i) => within(i, () => add(action, record)));
        else add(action, value);
      });
    }
    return missed;
  }
  if (Array.isArray(v)) {
    v.forEach((record, i) => within(i, () => add(shape.foundAction, record)));
    return undefined;
  }
  add(shape.foundAction, v);
  return undefined;
}
