/**
 * Resolve strategy and resolve redirection values (lib/g3-yaml/src/value/resolve.rs,
 * lib/g3-types/src/resolve/{strategy,redirect}.rs).
 */
import { ValueError, describe, within } from './errors.js';
import { parseDomain, parseHost } from './host.js';
import { parseIpAddr } from './ip.js';
import { forEachKey, isMap, own } from './primitives.js';

export type QueryStrategy = 'Ipv4Only' | 'Ipv6Only' | 'Ipv4First' | 'Ipv6First';
export type PickStrategy = 'Random' | 'Serial';

export interface ResolveStrategy {
  /** which address families to ask for and prefer, default Ipv4First */
  readonly query: QueryStrategy;
  /** which of the returned addresses to use, default Random */
  readonly pick: PickStrategy;
}

export const DEFAULT_RESOLVE_STRATEGY: ResolveStrategy = Object.freeze({ query: 'Ipv4First', pick: 'Random' });

const QUERY: Readonly<Record<string, QueryStrategy>> = {
  ipv4only: 'Ipv4Only',
  ipv6only: 'Ipv6Only',
  ipv4first: 'Ipv4First',
  ipv6first: 'Ipv6First',
};
const PICK: Readonly<Record<string, PickStrategy>> = { random: 'Random', serial: 'Serial', first: 'Serial' };

const squash = (s: string) => s.trim().toLowerCase().replace(/[-_]/g, '');

function parseQuery(v: unknown): QueryStrategy {
  const q = typeof v === 'string' ? own(QUERY, squash(v)) : undefined;
  if (!q) throw new ValueError(`unknown resolve query strategy ${describe(v)} (use Ipv4Only, Ipv6Only, Ipv4First or Ipv6First)`);
  return q;
}

function parsePick(v: unknown): PickStrategy {
  const p = typeof v === 'string' ? own(PICK, squash(v)) : undefined;
  if (!p) throw new ValueError(`unknown resolve pick strategy ${describe(v)} (use Random, or Serial/First)`);
  return p;
}

/** resolve_strategy: a query strategy string, or `{query, pick}`; case-insensitive. */
export function parseResolveStrategy(v: unknown): ResolveStrategy {
  if (typeof v === 'string') return Object.freeze({ query: parseQuery(v), pick: 'Random' });
  if (!isMap(v)) throw new ValueError(`resolve strategy must be a string or a map {query, pick}, got ${describe(v)}`);
  let query: QueryStrategy = 'Ipv4First';
  let pick: PickStrategy = 'Random';
  forEachKey(v, 'resolve strategy', {
    query: (x) => (query = parseQuery(x)),
    pick: (x) => (pick = parsePick(x)),
  });
  return Object.freeze({ query, pick });
}

/** Where a redirected domain goes: fixed addresses (split by family) or another domain to resolve instead. */
export type ResolveRedirectionTarget =
  | { readonly kind: 'ips'; readonly ipv4: readonly string[]; readonly ipv6: readonly string[] }
  | { readonly kind: 'domain'; readonly domain: string };

export class ResolveRedirection {
  constructor(
    private readonly exact: ReadonlyMap<string, ResolveRedirectionTarget>,
    /** parent domain → replacement parent */
    private readonly parents: ReadonlyMap<string, string>,
  ) {
    Object.freeze(this);
  }

  get isEmpty(): boolean {
    return this.exact.size === 0 && this.parents.size === 0;
  }

  /**
   * The redirection for `domain` (lowercase, no trailing dot): an exact entry first, else the deepest
   * `parent` entry covering it, whose parent part is swapped (`www.a.example` with parent `a.example` →
   * `b.example` gives `www.b.example`).
   */
  lookup(domain: string): ResolveRedirectionTarget | undefined {
    const e = this.exact.get(domain);
    if (e !== undefined) return e;
    if (this.parents.size === 0) return undefined;
    let i = 0;
    for (;;) {
      const suffix = i === 0 ? domain : domain.slice(i);
      const to = this.parents.get(suffix);
      if (to !== undefined) return { kind: 'domain', domain: i === 0 ? to : domain.slice(0, i) + to };
      const dot = domain.indexOf('.', i);
      if (dot < 0) return undefined;
      i = dot + 1;
    }
  }
}

function exactTarget(v: unknown): ResolveRedirectionTarget {
  if (typeof v === 'string') {
    const host = parseHost(v);
    if (host.ipFamily === 0) return Object.freeze({ kind: 'domain', domain: host.host });
    return ipsTarget([host.host]);
  }
  if (Array.isArray(v)) return ipsTarget(v.map((x, i) => within(i, () => parseIpAddr(x))));
  throw new ValueError(`redirection target must be an IP, a list of IPs, or a domain, got ${describe(v)}`);
}

function ipsTarget(ips: string[]): ResolveRedirectionTarget {
  const ipv4 = Object.freeze(ips.filter((ip) => !ip.includes(':')));
  const ipv6 = Object.freeze(ips.filter((ip) => ip.includes(':')));
  return Object.freeze({ kind: 'ips', ipv4, ipv6 });
}

/**
 * resolve_redirection: a map `domain → target`, or a list of `{exact: domain, to: target}` and
 * `{parent: domain, to: domain}`. An exact target is an IP, a list of IPs, or a domain (an alias).
 * Map keys are domains, so the loader must hand them over as written (not key-normalised).
 */
export function parseResolveRedirection(v: unknown): ResolveRedirection {
  const exact = new Map<string, ResolveRedirectionTarget>();
  const parents = new Map<string, string>();
  if (isMap(v)) {
    for (const [key, value] of Object.entries(v)) {
      within(key, () => exact.set(parseDomain(key), exactTarget(value)));
    }
  } else if (Array.isArray(v)) {
    v.forEach((item, i) =>
      within(i, () => {
        if (!isMap(item)) throw new ValueError(`redirection entry must be a map {exact|parent, to}, got ${describe(item)}`);
        let exactDomain: string | undefined;
        let parentDomain: string | undefined;
        let to: unknown;
        let hasTo = false;
        forEachKey(item, 'redirection entry', {
          exact: (x) => (exactDomain = parseDomain(x)),
          parent: (x) => (parentDomain = parseDomain(x, true)),
          to: (x) => {
            to = x;
            hasTo = true;
          },
        });
        if (!hasTo) throw new ValueError('redirection entry needs a to');
        if (exactDomain !== undefined && parentDomain !== undefined) {
          throw new ValueError('redirection entry must have either exact or parent, not both');
        }
        if (exactDomain !== undefined) exact.set(exactDomain, within('to', () => exactTarget(to)));
        else if (parentDomain !== undefined) parents.set(parentDomain, within('to', () => parseDomain(to, true)));
        else throw new ValueError('redirection entry needs an exact or a parent domain');
      }),
    );
  } else {
    throw new ValueError(`resolve redirection must be a map or a list, got ${describe(v)}`);
  }
  return new ResolveRedirection(exact, parents);
}
