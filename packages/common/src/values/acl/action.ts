/**
 * ACL actions, strictest first: forbid_log, forbid, permit_log, permit (g3proxy's AclAction order).
 */
import { ValueError, describe } from '../errors.js';
import { own } from '../primitives.js';

export type AclAction = 'forbid_log' | 'forbid' | 'permit_log' | 'permit';

/** Every action, strictest first. */
export const ACL_ACTIONS: readonly AclAction[] = Object.freeze(['forbid_log', 'forbid', 'permit_log', 'permit']);

const ACTION_NAMES: Readonly<Record<string, AclAction>> = {
  forbid_log: 'forbid_log',
  deny_log: 'forbid_log',
  reject_log: 'forbid_log',
  forbid: 'forbid',
  deny: 'forbid',
  reject: 'forbid',
  permit_log: 'permit_log',
  allow_log: 'permit_log',
  accept_log: 'permit_log',
  permit: 'permit',
  allow: 'permit',
  accept: 'permit',
};

const RANK: Readonly<Record<AclAction, number>> = { forbid_log: 0, forbid: 1, permit_log: 2, permit: 3 };

/** The action named by `name` (any alias, case-insensitive, `-` read as `_`), or undefined. */
export function aclActionFromName(name: string): AclAction | undefined {
  return own(ACTION_NAMES, name.trim().toLowerCase().replace(/-/g, '_'));
}

const ACTION_HELP = 'forbid_log, forbid, permit_log, permit (or deny_log, reject_log, deny, reject, allow_log, accept_log, allow, accept)';

/** An ACL action value (e.g. the `default:` of a rule). */
export function parseAclAction(v: unknown): AclAction {
  if (typeof v !== 'string') throw new ValueError(`ACL action must be a string, got ${describe(v)}`);
  const action = aclActionFromName(v);
  if (!action) throw new ValueError(`unknown ACL action '${v}' (use ${ACTION_HELP})`);
  return action;
}

export function unknownActionKey(key: string): ValueError {
  return new ValueError(`'${key}' is not an ACL action (use default, ${ACTION_HELP})`, [key]);
}

export function isForbidden(a: AclAction): boolean {
  return a === 'forbid' || a === 'forbid_log';
}

export function isLogged(a: AclAction): boolean {
  return a === 'forbid_log' || a === 'permit_log';
}

/** 0 for the strictest action (forbid_log) up to 3 (permit). */
export function aclStrictness(a: AclAction): number {
  return RANK[a];
}

/** The stricter of two actions. */
export function stricterAction(a: AclAction, b: AclAction): AclAction {
  return RANK[a] <= RANK[b] ? a : b;
}
