/** `route_client`: the next escaper by the client's IP: exact IPs first, then the longest matching subnet. */
import { IpNetworkTable, normalizeIp, parseIpNetwork, ValueError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import { commonEscaperFields, str } from '../../runtime/schema-util.js';
import type { TaskContext } from '../../task/task.js';
import { clientIpOf } from '../proxy-peer.js';
import { namesOf, parseNextRules, RouteEscaper, routeSchema, rulesField } from '../route-base.js';

export interface RouteClientConfig extends BaseConfig {
  exact: ReadonlyMap<string, string>;
  subnets: IpNetworkTable<string>;
  defaultNext: string;
  nexts: string[];
}

const schema = routeSchema('route_client', {
  ...commonEscaperFields,
  exact_match: rulesField('Client IPs: [{next, ips}] or {next: [ips]}.'),
  subnet_match: rulesField('Client subnets, longest prefix wins: [{next, subnets}] or {next: [subnets]}.'),
  default_next: str('Escaper for clients no rule matched.'),
}, { required: ['default_next'], aliases: { exact_rules: 'exact_match', subnet_rules: 'subnet_match' } });

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteClientConfig {
  const exact = new Map<string, string>();
  const subnets = new IpNetworkTable<string>();
  const nexts: string[] = [];
  try {
    for (const r of parseNextRules(v.exact_match, 'exact_match', ['ips', 'ip'])) {
      nexts.push(r.next);
      for (const ip of r.values) {
        const n = normalizeIp(String(ip));
        if (!n) throw new ValueError(`'${String(ip)}' is not an IP address`);
        exact.set(n, r.next);
      }
    }
  } catch (e) {
    ctx.fail(['exact_match'], (e as Error).message);
  }
  try {
    for (const r of parseNextRules(v.subnet_match, 'subnet_match', ['subnets', 'subnet'])) {
      nexts.push(r.next);
      for (const n of r.values) subnets.insert(parseIpNetwork(n), r.next);
    }
  } catch (e) {
    ctx.fail(['subnet_match'], (e as Error).message);
  }
  const defaultNext = v.default_next as string;
  return Object.freeze({ name: v.name as string, type: 'route_client', raw: v, baseDir: ctx.baseDir, exact, subnets, defaultNext, nexts: namesOf(nexts, defaultNext) });
}

export class RouteClientEscaper extends RouteEscaper<RouteClientConfig> {
  readonly logName = 'RouteClient';
  protected select(task: TaskContext): string {
    const ip = normalizeIp(clientIpOf(task)) ?? '';
    return this.config.exact.get(ip) ?? this.config.subnets.lookup(ip) ?? this.config.defaultNext;
  }
}

export const routeClientType: ObjectTypeDef<RouteClientConfig, RouteClientEscaper> = {
  type: 'route_client',
  logName: 'RouteClient',
  schema,
  parse,
  create: (cfg, runtime) => new RouteClientEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: cfg.nexts }),
  diff: () => 'reload',
};
