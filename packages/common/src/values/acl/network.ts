/**
 * Network ACL rules: records are IPs or CIDR networks, matched by longest prefix.
 *
 * Built-in records, as g3proxy's AclNetworkRuleBuilder::new_egress / new_ingress (lib/g3-types/src/acl/network.rs):
 * - egress (egress_network_filter) and dst_subnet (subnet_match of dst_host_filter_set) start with
 *   forbid for 0.0.0.0/32, 127.0.0.0/8, 169.254.0.0/16, ::/128, ::1/128, fe80::/10 and 100::/64
 *   (the digest lists only unspecified/loopback/link-local for dst_subnet, but g3proxy's code builds the
 *   subnet rule with the same egress list, discard-only 100::/64 included; we follow the code);
 * - ingress (ingress_network_filter) starts with permit for 127.0.0.1/32 and ::1/128;
 * - plain has none.
 * How built-ins and configured records combine (checked in the g3 source): the built-ins are inserted
 * into the same network→action map first and configured records are inserted after them, so a configured
 * record for the very same network replaces the built-in, and because lookups take the longest prefix, a
 * more specific configured record wins inside a built-in range. Hence `permit: 127.0.0.1` reaches
 * 127.0.0.1 but 127.0.0.2 stays forbidden by 127.0.0.0/8, and `permit: 127.0.0.0/8` lifts the whole ban.
 *
 * Missed action: forbid, unless the rule's `default` says otherwise. An escaper with no
 * egress_network_filter at all uses the egress built-ins with missed = permit: {@link defaultEgressAcl}.
 */
import { ValueError, describe } from '../errors.js';
import { IpNetworkTable } from '../ip-table.js';
import { parseIpInto, parseIpNetwork, type IpNetwork } from '../ip.js';
import type { AclAction } from './action.js';
import { walkAclRule } from './rule.js';

export type NetworkAclKind = 'egress' | 'ingress' | 'dst_subnet' | 'plain';

const EGRESS_FORBIDDEN = ['0.0.0.0/32', '127.0.0.0/8', '169.254.0.0/16', '::/128', '::1/128', 'fe80::/10', '100::/64'];
const INGRESS_PERMITTED = ['127.0.0.1/32', '::1/128'];

function builtins(kind: NetworkAclKind): [string, AclAction][] {
  switch (kind) {
    case 'egress':
    case 'dst_subnet':
      return EGRESS_FORBIDDEN.map((n) => [n, 'forbid']);
    case 'ingress':
      return INGRESS_PERMITTED.map((n) => [n, 'permit']);
    case 'plain':
      return [];
  }
}

export class NetworkAcl {
  private readonly table = new IpNetworkTable<AclAction>();

  constructor(
    readonly kind: NetworkAclKind,
    readonly missedAction: AclAction,
    /** records in effect, built-ins included, by network text; later entries already replaced earlier ones */
    readonly records: ReadonlyMap<string, AclAction>,
    networks: ReadonlyMap<string, IpNetwork>,
  ) {
    for (const [text, action] of records) this.table.insert(networks.get(text)!, action);
    Object.freeze(this);
  }

  /** The action of the longest matching record, or undefined if no record matches (or `ip` is not an IP). */
  lookup(ip: string): AclAction | undefined {
    return this.table.lookup(ip);
  }

  /**
   * The action for `ip`. Text that is not an IP literal gets `forbid`: callers pass socket addresses, so
   * anything else is a bug that must not open a hole.
   */
  check(ip: string): AclAction {
    const family = parseIpInto(ip);
    if (family === 0) return 'forbid';
    return this.table.lookupParsed(family) ?? this.missedAction;
  }

  /** lookup() for the address just parsed into IP_SCRATCH by parseIpInto (which returned `family`). */
  lookupParsed(family: 4 | 6): AclAction | undefined {
    return this.table.lookupParsed(family);
  }

  /** Same as check() for an IPv4 address held as a uint32. */
  checkV4(addr: number): AclAction {
    return this.table.lookupV4(addr) ?? this.missedAction;
  }
}

function build(kind: NetworkAclKind, v: unknown | undefined, missedDefault: AclAction): NetworkAcl {
  const records = new Map<string, AclAction>();
  const networks = new Map<string, IpNetwork>();
  const put = (net: IpNetwork, action: AclAction) => {
    // delete first so the insertion order shows what was configured last
    records.delete(net.text);
    records.set(net.text, action);
    networks.set(net.text, net);
  };
  for (const [text, action] of builtins(kind)) put(parseIpNetwork(text), action);
  let missed = missedDefault;
  if (v !== undefined) {
    const configured = walkAclRule(v, { foundAction: 'permit' }, (action, record) => {
      if (typeof record !== 'string') {
        throw new ValueError(`network record must be an IP or CIDR string like '10.0.0.0/8', got ${describe(record)}`);
      }
      put(parseIpNetwork(record), action);
    });
    if (configured) missed = configured;
  }
  return new NetworkAcl(kind, missed, records, networks);
}

/**
 * A network ACL rule value of the given kind: `{default, <action>: records}` or a bare record/list
 * (permitted, everything else forbidden). Built-ins are described at the top of this file.
 * `undefined` (the key is absent) gives {@link defaultEgressAcl} for egress; other kinds have no
 * meaning when absent (g3proxy applies no filter), so it is an error there.
 */
export function parseNetworkAcl(v: unknown, kind: NetworkAclKind): NetworkAcl {
  if (v === undefined) {
    if (kind === 'egress') return defaultEgressAcl();
    throw new ValueError(`${kind} network filter value is missing`);
  }
  return build(kind, v, 'forbid');
}

/** The egress filter of a direct escaper that configures none: built-in bans, everything else permitted. */
export function defaultEgressAcl(): NetworkAcl {
  return build('egress', undefined, 'permit');
}
