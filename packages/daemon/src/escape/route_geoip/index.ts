/**
 * `route_geoip`: the next escaper by where the target's address is. g3 asks its ip-locate agent (g3iploc);
 * sluice reads MaxMind databases itself (`geoip_db`: GeoLite2/GeoIP2 Country or City, and ASN), so
 * `ip_locate_service` is accepted and unused. Rules are tried in g3's order: networks (longest prefix), AS
 * numbers, countries, continents; then `default_next`.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Reader, type Response } from 'maxmind';
import { IpNetworkTable, parseIpNetwork, ValueError } from '@sluice/common';
import type { BaseConfig, ObjectTypeDef, ParseContext } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonEscaperFields, g3, str, strList } from '../../runtime/schema-util.js';
import type { TaskContext, Upstream } from '../../task/task.js';
import type { ConnectTuning } from '../direct_fixed/config.js';
import { namesOf, RouteEscaper, routeSchema, rulesField } from '../route-base.js';
import { routeTuning, targetAddresses } from '../route_resolved/index.js';

const CONTINENTS: Record<string, string> = {
  af: 'AF', africa: 'AF', an: 'AN', antarctica: 'AN', as: 'AS', asia: 'AS', eu: 'EU', europe: 'EU',
  na: 'NA', north_america: 'NA', northamerica: 'NA', oc: 'OC', oceania: 'OC', sa: 'SA', south_america: 'SA', southamerica: 'SA',
};

export interface RouteGeoIpConfig extends BaseConfig {
  resolver: string;
  tuning: ConnectTuning;
  databases: readonly string[];
  networks: IpNetworkTable<string>;
  asn: ReadonlyMap<number, string>;
  countries: ReadonlyMap<string, string>;
  continents: ReadonlyMap<string, string>;
  defaultNext: string;
  nexts: string[];
}

const schema = routeSchema('route_geoip', {
  ...commonEscaperFields,
  resolver: str('Resolver for domain targets.'),
  resolve_strategy: g3('resolve_strategy', 'Address families to query (default Ipv4First).'),
  resolution_delay: g3('duration', 'How long to wait for the second family once the first answered (default 50ms).'),
  geoip_db: strList('sluice: MaxMind .mmdb files to look addresses up in (Country/City for countries and continents, ASN for AS numbers); relative to this file.'),
  ip_locate_service: { description: 'g3\'s ip-locate agent settings; accepted for compatibility, sluice uses geoip_db.', type: ['object', 'string'] },
  geo_rules: rulesField('[{next, networks, as_numbers, countries, continents}]: countries are ISO 3166 alpha-2 codes, continents codes (EU) or names (europe).'),
  default_next: str('Escaper when no rule matches.'),
}, { required: ['resolver', 'default_next'], aliases: { geo_match: 'geo_rules' } });

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : x === undefined ? [] : [x]);

function parse(v: Record<string, unknown>, ctx: ParseContext): RouteGeoIpConfig {
  const networks = new IpNetworkTable<string>();
  const asn = new Map<number, string>();
  const countries = new Map<string, string>();
  const continents = new Map<string, string>();
  const nexts: string[] = [];
  list(v.geo_rules).forEach((rule, i) => {
    try {
      if (!rule || typeof rule !== 'object') throw new ValueError('rule must be a map');
      const m = rule as Record<string, unknown>;
      const next = m.next ?? m.escaper;
      if (typeof next !== 'string') throw new ValueError('rule needs \'next\'');
      nexts.push(next);
      for (const [k, x] of Object.entries(m)) {
        if (k === 'next' || k === 'escaper') continue;
        if (['net', 'network', 'networks'].includes(k)) for (const n of list(x)) networks.insert(parseIpNetwork(n), next);
        else if (['asn', 'as_number', 'as_numbers'].includes(k)) {
          for (const n of list(x)) {
            const num = Number(n);
            if (!Number.isInteger(num) || num < 0) throw new ValueError(`'${String(n)}' is not an AS number`);
            asn.set(num, next);
          }
        } else if (['country', 'countries'].includes(k)) {
          for (const c of list(x)) {
            const code = String(c).trim().toUpperCase();
            if (!/^[A-Z]{2}$/.test(code)) throw new ValueError(`'${String(c)}' is not an ISO 3166 alpha-2 country code`);
            countries.set(code, next);
          }
        } else if (['continent', 'continents'].includes(k)) {
          for (const c of list(x)) {
            const code = CONTINENTS[String(c).trim().toLowerCase().replace(/[-\s]/g, '_')];
            if (!code) throw new ValueError(`'${String(c)}' is not a continent`);
            continents.set(code, next);
          }
        } else throw new ValueError(`unknown key '${k}'`);
      }
    } catch (e) {
      ctx.fail(['geo_rules', String(i)], (e as Error).message);
    }
  });
  const defaultNext = v.default_next as string;
  const databases = list(v.geoip_db).map((p) => (isAbsolute(String(p)) ? String(p) : join(ctx.baseDir, String(p))));
  return Object.freeze({
    name: v.name as string, type: 'route_geoip', raw: v, baseDir: ctx.baseDir, resolver: v.resolver as string,
    tuning: routeTuning(v), databases, networks, asn, countries, continents, defaultNext, nexts: namesOf(nexts, defaultNext),
  });
}

interface GeoRecord {
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  continent?: { code?: string };
  autonomous_system_number?: number;
}

export class RouteGeoIpEscaper extends RouteEscaper<RouteGeoIpConfig> {
  readonly logName = 'RouteGeoIp';
  private readers: Array<Reader<Response>> = [];
  private loadedFor: readonly string[] = [];

  /** Databases are read before the generation goes live, so a missing file fails the load, not a task. */
  async prepare(): Promise<void> {
    await this.load(this.config.databases);
  }

  private async load(paths: readonly string[]): Promise<void> {
    const readers: Array<Reader<Response>> = [];
    for (const p of paths) readers.push(new Reader<Response>(await readFile(p)));
    this.readers = readers;
    this.loadedFor = paths;
  }

  protected override onReload(): void {
    if (this.config.databases.join('\n') !== this.loadedFor.join('\n')) {
      const paths = this.config.databases;
      this.load(paths).catch((e) => this.runtime.plog.warn(`escaper ${this.name}: cannot load geoip_db: ${(e as Error).message}`));
    }
  }

  /** What the databases know about `ip`. */
  locate(ip: string): { country?: string; continent?: string; asn?: number } {
    const out: { country?: string; continent?: string; asn?: number } = {};
    for (const r of this.readers) {
      const rec = r.get(ip) as GeoRecord | null;
      if (!rec) continue;
      out.country ??= rec.country?.iso_code ?? rec.registered_country?.iso_code;
      out.continent ??= rec.continent?.code;
      out.asn ??= rec.autonomous_system_number;
    }
    return out;
  }

  protected async select(_task: TaskContext, upstream: Upstream): Promise<string> {
    const c = this.config;
    const addrs = await targetAddresses(this.runtime, c.resolver, c.tuning, upstream);
    for (const ip of addrs) {
      const net = c.networks.lookup(ip);
      if (net) return net;
      const loc = this.locate(ip);
      const hit = (loc.asn !== undefined ? c.asn.get(loc.asn) : undefined)
        ?? (loc.country ? c.countries.get(loc.country) : undefined)
        ?? (loc.continent ? c.continents.get(loc.continent) : undefined);
      if (hit) return hit;
    }
    return c.defaultNext;
  }
}

export const routeGeoIpType: ObjectTypeDef<RouteGeoIpConfig, RouteGeoIpEscaper> = {
  type: 'route_geoip',
  aliases: ['route_geo_ip'],
  logName: 'RouteGeoIp',
  schema,
  parse,
  create: (cfg: RouteGeoIpConfig, runtime: Runtime) => new RouteGeoIpEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: [cfg.resolver], escaper: cfg.nexts }),
  diff: () => 'reload',
};
