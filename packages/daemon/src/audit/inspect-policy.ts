/**
 * g3's protocol inspect policy: what to do with a detected protocol (HTTP/2, WebSocket, SMTP, IMAP) for a
 * destination host. A string is the action for every host; a map has `default` and rules `exact_match`
 * (hosts), `child_match` (parent domains) and `subnet_match` (IP networks), each a map from an action to one
 * record or a list, tried in that order.
 */
import { BlockList } from 'node:net';
import { normalizeIp, parseDomain, parseHost, parseIpNetwork, ValueError } from '@sluice/common';

export type InspectAction = 'block' | 'intercept' | 'bypass' | 'detour';
const ACTIONS: readonly InspectAction[] = ['block', 'intercept', 'bypass', 'detour'];

export interface InspectPolicy {
  readonly defaultAction: InspectAction;
  /** every action the policy can give (to check what a config asks for) */
  readonly actions: ReadonlySet<InspectAction>;
  actionFor(host: string): InspectAction;
}

function parseAction(v: unknown): InspectAction {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (!(ACTIONS as readonly string[]).includes(s)) {
    throw new ValueError(`invalid inspect action ${JSON.stringify(v)} (block, intercept, bypass or detour)`);
  }
  return s as InspectAction;
}

const norm = (k: string) => k.toLowerCase().replace(/-/g, '_');
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

class RulePolicy implements InspectPolicy {
  readonly exact = new Map<string, InspectAction>();
  readonly children: Array<[string, InspectAction]> = [];
  readonly subnets: Array<[BlockList, InspectAction]> = [];
  readonly actions = new Set<InspectAction>();
  constructor(public defaultAction: InspectAction) {}

  actionFor(host: string): InspectAction {
    if (this.exact.size === 0 && this.children.length === 0 && this.subnets.length === 0) return this.defaultAction;
    const ip = normalizeIp(host.startsWith('[') ? host.slice(1, -1) : host);
    const key = ip ?? host.toLowerCase().replace(/\.$/, '');
    const e = this.exact.get(key);
    if (e) return e;
    if (ip === null) {
      for (const [suffix, a] of this.children) if (key.endsWith(suffix) || key === suffix.slice(1)) return a;
    } else {
      const family = ip.includes(':') ? 'ipv6' : 'ipv4';
      for (const [bl, a] of this.subnets) if (bl.check(ip, family)) return a;
    }
    return this.defaultAction;
  }
}

/** Parse a policy value; `undefined` gives g3's default, `intercept` for every host. */
export function parseInspectPolicy(v: unknown): InspectPolicy {
  if (v === undefined || v === null || typeof v === 'string') {
    const p = new RulePolicy(v ? parseAction(v) : 'intercept');
    p.actions.add(p.defaultAction);
    return p;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValueError('inspect policy must be an action string or a map');
  const p = new RulePolicy('intercept');
  for (const [k, rule] of Object.entries(v as Record<string, unknown>)) {
    const key = norm(k);
    const at = (fn: () => void, path: string[]) => {
      try {
        fn();
      } catch (e) {
        if (e instanceof ValueError) throw new ValueError(e.message, [k, ...path, ...e.path]);
        throw e;
      }
    };
    if (key === 'default') {
      at(() => {
        p.defaultAction = parseAction(rule);
      }, []);
      continue;
    }
    if (key !== 'exact_match' && key !== 'child_match' && key !== 'subnet_match') {
      throw new ValueError(`invalid key '${k}' in inspect policy (default, exact_match, child_match, subnet_match)`, [k]);
    }
    if (!rule || typeof rule !== 'object' || Array.isArray(rule)) throw new ValueError(`${key} must be a map from an action to records`, [k]);
    for (const [ak, records] of Object.entries(rule as Record<string, unknown>)) {
      at(() => {
        const action = parseAction(ak);
        p.actions.add(action);
        asList(records).forEach((r, i) => at(() => {
          if (key === 'exact_match') {
            const h = parseHost(r);
            p.exact.set(h.ipFamily ? normalizeIp(h.host)! : h.host.toLowerCase(), action);
          } else if (key === 'child_match') {
            p.children.push([`.${parseDomain(r)}`, action]);
          } else {
            const n = parseIpNetwork(r);
            const bl = new BlockList();
            bl.addSubnet(n.address, n.prefix, n.family === 6 ? 'ipv6' : 'ipv4');
            p.subnets.push([bl, action]);
          }
        }, [String(i)]));
      }, [ak]);
    }
  }
  p.actions.add(p.defaultAction);
  // longest parent domain first
  p.children.sort((a, b) => b[0].length - a[0].length);
  return p;
}
