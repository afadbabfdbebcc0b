/**
 * dst_host_filter_set: a set of host rules (lib/g3-types/src/acl_set/dst_host.rs).
 *
 * - exact_match | exact: hosts (domain or IP), matched exactly;
 * - child_match | child: parent domains; matches the domain itself and every sub-domain, deepest wins;
 * - regex_match | regex: a regex on the full domain, or `{parent, regex}` matching only the part before
 *   the (deepest configured) parent;
 * - subnet_match | subnet: networks, for IP hosts only, with the egress built-in bans (see network.ts).
 *
 * Evaluation: an IP host goes exact → subnet; a domain goes exact → child → regex. The first rule whose
 * records match decides. If none matches, the strictest missed action among the configured rules wins
 * (a rule configured without `default` contributes forbid); with no rule configured at all, permit.
 */
import { ValueError, describe, within } from '../errors.js';
import { parseDomain, parseHost } from '../host.js';
import { IpNetworkTable } from '../ip-table.js';
import { parseIpInto, parseIpNetwork } from '../ip.js';
import { forEachKey, isMap, normalizeKey, type YamlMap } from '../primitives.js';
import { stricterAction, type AclAction } from './action.js';
import { parseNetworkAcl, type NetworkAcl } from './network.js';
import { compileRustRegex, RegexActionSet } from './regex.js';
import { walkAclRule } from './rule.js';

/** Lowercase, without one trailing dot: the form rule records are stored in. */
function normalizeHostForMatch(host: string): string {
  let h = host.toLowerCase();
  if (h.length > 1 && h.charCodeAt(h.length - 1) === 46) h = h.slice(0, -1);
  return h;
}

class ExactHostRule {
  readonly domains = new Map<string, AclAction>();
  readonly ips = new IpNetworkTable<AclAction>();
  missedAction: AclAction = 'forbid';
}

class ChildDomainRule {
  readonly parents = new Map<string, AclAction>();
  missedAction: AclAction = 'forbid';

  /** Deepest configured parent of `domain` (the domain itself included). */
  lookup(domain: string): AclAction | undefined {
    const parents = this.parents;
    let i = 0;
    for (;;) {
      const found = parents.get(i === 0 ? domain : domain.slice(i));
      if (found !== undefined) return found;
      const dot = domain.indexOf('.', i);
      if (dot < 0) return undefined;
      i = dot + 1;
    }
  }
}

class RegexDomainRule {
  readonly byParent = new Map<string, RegexActionSet>();
  readonly full = new RegexActionSet();
  missedAction: AclAction = 'forbid';

  lookup(domain: string): AclAction | undefined {
    if (this.byParent.size > 0) {
      // only the deepest configured parent is consulted, as g3proxy's trie ancestor lookup does
      let i = 0;
      for (;;) {
        const suffix = i === 0 ? domain : domain.slice(i);
        const set = this.byParent.get(suffix);
        if (set !== undefined) {
          const sub = i === 0 ? '' : domain.slice(0, i - 1);
          const found = set.match(sub);
          if (found !== undefined) return found;
          break;
        }
        const dot = domain.indexOf('.', i);
        if (dot < 0) break;
        i = dot + 1;
      }
    }
    return this.full.isEmpty ? undefined : this.full.match(domain);
  }
}

export class HostFilterSet {
  constructor(
    private readonly exact: ExactHostRule | undefined,
    private readonly child: ChildDomainRule | undefined,
    private readonly regex: RegexDomainRule | undefined,
    private readonly subnet: NetworkAcl | undefined,
    /** strictest missed action of the configured rules (permit if none) */
    readonly missedAction: AclAction,
  ) {
    Object.freeze(this);
  }

  /** The action of the first matching rule, or undefined when no record matched. */
  lookup(host: string): AclAction | undefined {
    const family = parseIpInto(host);
    if (family !== 0) {
      // IP_SCRATCH holds the address for both lookups; neither lookup parses again
      const e = this.exact?.ips.lookupParsed(family);
      if (e !== undefined) return e;
      return this.subnet?.lookupParsed(family);
    }
    const domain = normalizeHostForMatch(host);
    return this.exact?.domains.get(domain) ?? this.child?.lookup(domain) ?? this.regex?.lookup(domain);
  }

  /** `host` is a domain or an IP literal (IPv6 with or without brackets). */
  check(host: string): AclAction {
    return this.lookup(host) ?? this.missedAction;
  }
}

function parseExact(v: unknown): ExactHostRule {
  const rule = new ExactHostRule();
  const missed = walkAclRule(v, { foundAction: 'permit' }, (action, record) => {
    const host = parseHost(record);
    if (host.ipFamily === 0) {
      rule.domains.set(host.host, action);
    } else {
      rule.ips.insert(parseIpNetwork(host.host), action);
    }
  });
  if (missed) rule.missedAction = missed;
  return rule;
}

function parseChild(v: unknown): ChildDomainRule {
  const rule = new ChildDomainRule();
  const missed = walkAclRule(v, { foundAction: 'permit' }, (action, record) => {
    if (typeof record !== 'string') throw new ValueError(`child_match record must be a domain string, got ${describe(record)}`);
    rule.parents.set(parseDomain(record, true), action);
  });
  if (missed) rule.missedAction = missed;
  return rule;
}

const isParentRegexRecord = (m: YamlMap) => Object.keys(m).some((k) => ['parent', 'regex'].includes(normalizeKey(k)));

function parseRegex(v: unknown): RegexDomainRule {
  const rule = new RegexDomainRule();
  const missed = walkAclRule(v, { foundAction: 'permit', isRecordMap: isParentRegexRecord }, (action, record) => {
    if (typeof record === 'string') {
      rule.full.add(compileRustRegex(record), action);
      return;
    }
    if (!isMap(record)) {
      throw new ValueError(`regex_match record must be a regex string or a map {parent, regex}, got ${describe(record)}`);
    }
    let parent: string | undefined;
    let regexes: RegExp[] | undefined;
    forEachKey(record, 'regex_match record', {
      parent: (x) => (parent = parseDomain(x, true)),
      regex: (x) => {
        regexes = Array.isArray(x) ? x.map((r, i) => within(i, () => compileRustRegex(r))) : [compileRustRegex(x)];
      },
    });
    if (parent === undefined) throw new ValueError('regex_match record map needs a parent domain');
    if (regexes === undefined) throw new ValueError('regex_match record map needs a regex');
    let set = rule.byParent.get(parent);
    if (!set) rule.byParent.set(parent, (set = new RegexActionSet()));
    for (const re of regexes) set.add(re, action);
  });
  if (missed) rule.missedAction = missed;
  return rule;
}

/** A dst_host_filter_set value: a map of the rule keys described at the top of this file. */
export function parseHostFilterSet(v: unknown): HostFilterSet {
  if (!isMap(v)) {
    throw new ValueError(`host filter set must be a map with exact_match, child_match, regex_match and/or subnet_match, got ${describe(v)}`);
  }
  let exact: ExactHostRule | undefined;
  let child: ChildDomainRule | undefined;
  let regex: RegexDomainRule | undefined;
  let subnet: NetworkAcl | undefined;
  const setExact = (x: unknown) => (exact = parseExact(x));
  const setChild = (x: unknown) => (child = parseChild(x));
  const setRegex = (x: unknown) => (regex = parseRegex(x));
  const setSubnet = (x: unknown) => (subnet = parseNetworkAcl(x, 'dst_subnet'));
  forEachKey(v, 'host filter set', {
    exact_match: setExact,
    exact: setExact,
    child_match: setChild,
    child: setChild,
    regex_match: setRegex,
    regex: setRegex,
    subnet_match: setSubnet,
    subnet: setSubnet,
  });
  let missed: AclAction = 'permit';
  for (const rule of [exact, child, regex, subnet]) if (rule) missed = stricterAction(missed, rule.missedAction);
  return new HostFilterSet(exact, child, regex, subnet, missed);
}
