/**
 * Port ACL (dst_port_filter): records are ports (`22`, `"100-200"`, `"80,443"`). Missed ⇒ forbid,
 * found ⇒ permit, unless set. Example `{default: allow, forbid: [22, "100-200"]}`.
 */
import { parsePorts } from '../ports.js';
import { ACL_ACTIONS, type AclAction } from './action.js';
import { walkAclRule } from './rule.js';

export class PortAcl {
  /** one byte per port: 0 = no record, otherwise 1 + index in ACL_ACTIONS */
  private readonly actions = new Uint8Array(65536);

  /** `entries` in configuration order: a later entry for a port replaces an earlier one. */
  constructor(
    readonly missedAction: AclAction,
    entries: readonly (readonly [AclAction, Iterable<number>])[],
  ) {
    for (const [action, ports] of entries) {
      const code = 1 + ACL_ACTIONS.indexOf(action);
      for (const p of ports) this.actions[p] = code;
    }
    Object.freeze(this);
  }

  lookup(port: number): AclAction | undefined {
    const code = this.actions[port];
    return code ? ACL_ACTIONS[code - 1] : undefined;
  }

  check(port: number): AclAction {
    return this.lookup(port) ?? this.missedAction;
  }
}

export function parsePortAcl(v: unknown): PortAcl {
  const entries: [AclAction, Iterable<number>][] = [];
  const missed = walkAclRule(v, { foundAction: 'permit' }, (action, record) => {
    entries.push([action, parsePorts(record)]);
  });
  return new PortAcl(missed ?? 'forbid', entries);
}
