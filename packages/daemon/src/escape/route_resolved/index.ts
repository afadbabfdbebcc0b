/**
 * `route_resolved`: the next escaper by the target's resolved address (longest prefix match over `lpm_match`).
 * A domain is resolved with the escaper's resolver and resolve_strategy; the first address a rule covers decides.
 */
import { IpNetworkTable, normalizeIp, parseDuration, parseIpNetwork } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, g3, str } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import { parseConnectTuning, type ConnectTuning } from '../direct_fixed/config.js';
import { resolveOrdered } from '../direct-connect.js';
import { namesOf, parseNextRules, RouteEscaper, routeSchema, rulesField } from '../route-base.js';

export interface RouteResolvedConfig extends BaseConfig {
  resolver: string;
  tuning: ConnectTuning;
  table: IpNetworkTable<string>;
  defaultNext: string;
  nexts: string[];
}

const schema = routeSchema('route_resolved', {
  ...commonEscaperFields,
  resolver: str('Resolver for domain targets.'),
  resolve_strategy: g3('resolve_strategy', 'Address families to query (default Ipv4First).'),
  resolution_delay: g3('duration', 'How long to wait for the second family once the first answered (default 50ms).'),
  lpm_match: rulesField('Networks, longest prefix wins: [{next, networks}] or {next: [networks]}.'),
  default_next: str('Escaper when no network matches (or resolving failed).'),
}, { required: ['resolver', 'default_next'], aliases: { lpm_rules: 'lpm_match' } });

/** `{resolution_delay}` read as the happy-eyeballs resolution delay of the shared resolve path. */
export function routeTuning(v: Record<string, unknown>): ConnectTuning {
  const t = parseConnectTuning(v);
  return v.resolution_delay === undefined ? t : { ...t, resolutionDelayMs: parseDuration(v.resolution_delay) };
}

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteResolvedConfig {
  const table = new IpNetworkTable<string>();
  const nexts: string[] = [];
  try {
    for (const r of parseNextRules(v.lpm_match, 'lpm_match', ['networks', 'network', 'nets', 'net'])) {
      nexts.push(r.next);
      for (const n of r.values) table.insert(parseIpNetwork(n), r.next);
    }
  } catch (e) {
    ctx.fail(['lpm_match'], (e as Error).message);
  }
  const defaultNext = v.default_next as string;
  return Object.freeze({
    name: v.name as string, type: 'route_resolved', raw: v, baseDir: ctx.baseDir, resolver: v.resolver as string,
    tuning: routeTuning(v), table, defaultNext, nexts: namesOf(nexts, defaultNext),
  });
}

/** The target's addresses: itself for an IP, else resolved; [] if resolving fails (the default route then). */
export async function targetAddresses(runtime: Runtime, resolver: string, tuning: ConnectTuning, upstream: Upstream): Promise<string[]> {
  if (upstream.ipFamily !== 0) return [normalizeIp(upstream.host) ?? upstream.host];
  try {
    return await resolveOrdered(runtime.resolver(resolver), upstream.host, { tuning });
  } catch {
    return [];
  }
}

export class RouteResolvedEscaper extends RouteEscaper<RouteResolvedConfig> {
  readonly logName = 'RouteResolved';
  protected async select(_task: TaskContext, upstream: Upstream): Promise<string> {
    const addrs = await targetAddresses(this.runtime, this.config.resolver, this.config.tuning, upstream);
    for (const ip of addrs) {
      const hit = this.config.table.lookup(ip);
      if (hit) return hit;
    }
    return this.config.defaultNext;
  }
}

export const routeResolvedType: ObjectTypeDef<RouteResolvedConfig, RouteResolvedEscaper> = {
  type: 'route_resolved',
  aliases: ['route_dst_ip', 'route_dstip'],
  logName: 'RouteResolved',
  schema,
  parse,
  create: (cfg, runtime) => new RouteResolvedEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: [cfg.resolver], escaper: cfg.nexts }),
  diff: () => 'reload',
};
