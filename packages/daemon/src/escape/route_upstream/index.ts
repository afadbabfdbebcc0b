/**
 * `route_upstream`: the next escaper by the task's target host. Order as g3: exact host match first; then for an
 * IP target the longest matching subnet; for a domain the child match (the domain and its subdomains, most
 * specific parent wins), then suffix match, then regex match; else `default_next`.
 */
import { compileRustRegex, IpNetworkTable, normalizeDomain, normalizeIp, parseIpNetwork, ValueError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, str } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { namesOf, parseNextRules, RouteEscaper, routeSchema, rulesField } from '../route-base.js';

interface RegexRule {
  parent: string;
  re: RegExp;
  next: string;
}

export interface RouteUpstreamConfig extends BaseConfig {
  exact: ReadonlyMap<string, string>;
  subnets: IpNetworkTable<string>;
  children: ReadonlyMap<string, string>;
  suffixes: ReadonlyArray<readonly [string, string]>;
  regexes: readonly RegexRule[];
  defaultNext: string;
  nexts: string[];
}

const schema = routeSchema('route_upstream', {
  ...commonEscaperFields,
  exact_match: rulesField('Hosts (domains or IPs) matched exactly: [{next, hosts}] or {next: [hosts]}.'),
  subnet_match: rulesField('IP targets by longest matching subnet: [{next, subnets}] or {next: [subnets]}.'),
  child_match: rulesField('A domain and all its subdomains: [{next, domains}] or {next: [domains]}.'),
  suffix_match: rulesField('Domains ending with a suffix (radix match): [{next, suffixes}] or {next: [suffixes]}.'),
  regex_match: rulesField('Domains by regex: [{next, rules}] where a rule is a full regex or {parent, regex} matching the part below parent.'),
  default_next: str('Escaper for everything no rule matched.'),
}, {
  required: ['default_next'],
  aliases: { exact_rules: 'exact_match', subnet_rules: 'subnet_match', suffix_rules: 'suffix_match', radix_match: 'suffix_match', radix_rules: 'suffix_match', child_rules: 'child_match', regex_rules: 'regex_match' },
});

function hostKey(s: unknown): string {
  const t = String(s).trim();
  const ip = normalizeIp(t.replace(/^\[(.*)\]$/, '$1'));
  if (ip) return ip;
  const d = normalizeDomain(t);
  if (!d) throw new ValueError(`'${t}' is not a valid host`);
  return d;
}

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteUpstreamConfig {
  const exact = new Map<string, string>();
  const subnets = new IpNetworkTable<string>();
  const children = new Map<string, string>();
  const suffixes: Array<[string, string]> = [];
  const regexes: RegexRule[] = [];
  const nexts: string[] = [];
  const wrap = <T>(key: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      ctx.fail([key], (e as Error).message);
    }
  };
  wrap('exact_match', () => {
    for (const r of parseNextRules(v.exact_match, 'exact_match', ['hosts', 'host'])) {
      nexts.push(r.next);
      for (const h of r.values) exact.set(hostKey(h), r.next);
    }
  });
  wrap('subnet_match', () => {
    for (const r of parseNextRules(v.subnet_match, 'subnet_match', ['subnets', 'subnet'])) {
      nexts.push(r.next);
      for (const n of r.values) subnets.insert(parseIpNetwork(n), r.next);
    }
  });
  wrap('child_match', () => {
    for (const r of parseNextRules(v.child_match, 'child_match', ['domains', 'domain'])) {
      nexts.push(r.next);
      for (const d of r.values) children.set(hostKey(String(d).replace(/^\./, '')), r.next);
    }
  });
  wrap('suffix_match', () => {
    for (const r of parseNextRules(v.suffix_match, 'suffix_match', ['suffixes', 'suffix'])) {
      nexts.push(r.next);
      for (const s of r.values) suffixes.push([String(s).toLowerCase(), r.next]);
    }
    // longest suffix first, so the most specific wins
    suffixes.sort((a, b) => b[0].length - a[0].length);
  });
  wrap('regex_match', () => {
    for (const r of parseNextRules(v.regex_match, 'regex_match', ['rules', 'rule'])) {
      nexts.push(r.next);
      for (const rule of r.values) {
        if (typeof rule === 'string') regexes.push({ parent: '', re: compileRustRegex(rule), next: r.next });
        else {
          const m = rule as Record<string, unknown>;
          regexes.push({ parent: m.parent ? hostKey(m.parent) : '', re: compileRustRegex(m.regex), next: r.next });
        }
      }
    }
  });
  const defaultNext = v.default_next as string;
  return Object.freeze({
    name: v.name as string, type: 'route_upstream', raw: v, baseDir: ctx.baseDir,
    exact, subnets, children, suffixes, regexes, defaultNext, nexts: namesOf(nexts, defaultNext),
  });
}

/** The next escaper for `host` under `cfg` (exported for unit tests). */
export function routeUpstreamSelect(cfg: RouteUpstreamConfig, host: string, ipFamily: 0 | 4 | 6): string {
  const exact = cfg.exact.get(host);
  if (exact) return exact;
  if (ipFamily !== 0) return cfg.subnets.lookup(host) ?? cfg.defaultNext;
  if (cfg.children.size > 0) {
    // walk up the labels: a.b.example.com, b.example.com, example.com, com
    let d = host;
    for (;;) {
      const hit = cfg.children.get(d);
      if (hit) return hit;
      const dot = d.indexOf('.');
      if (dot < 0) break;
      d = d.slice(dot + 1);
    }
  }
  for (const [suffix, next] of cfg.suffixes) if (host.endsWith(suffix)) return next;
  for (const r of cfg.regexes) {
    if (!r.parent) {
      if (r.re.test(host)) return r.next;
    } else if (host.length > r.parent.length && host.endsWith(r.parent) && host[host.length - r.parent.length - 1] === '.') {
      if (r.re.test(host.slice(0, host.length - r.parent.length - 1))) return r.next;
    }
  }
  return cfg.defaultNext;
}

export class RouteUpstreamEscaper extends RouteEscaper<RouteUpstreamConfig> {
  readonly logName = 'RouteUpstream';
  protected select(_task: TaskContext, upstream: Upstream): string {
    return routeUpstreamSelect(this.config, upstream.host, upstream.ipFamily);
  }
}

export const routeUpstreamType: ObjectTypeDef<RouteUpstreamConfig, RouteUpstreamEscaper> = {
  type: 'route_upstream',
  logName: 'RouteUpstream',
  schema,
  parse,
  create: (cfg: RouteUpstreamConfig, runtime: Runtime) => new RouteUpstreamEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: cfg.nexts }),
  diff: () => 'reload',
};
