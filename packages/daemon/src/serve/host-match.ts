/**
 * g3's host-matched objects, shared by http_rproxy `hosts` and sni_proxy `allowed_hosts`: a list (or one map)
 * of entries, each naming its hosts with `exact_match` (hosts or IPs), `child_match` (parent domains whose
 * subdomains it takes) and `set_default` — an entry with no match key at all is the default. What else an
 * entry holds is the caller's (`parseEntry`).
 */
import { normalizeIp, parseDomain, parseHost, ValueError } from '@sluice/common';

export class HostMatch<T> {
  private readonly exact = new Map<string, T>();
  /** child domains with a leading dot, longest first, so `example.org` never matches `xexample.org` */
  private readonly children: Array<[string, T]> = [];
  defaultEntry: T | undefined;

  get size(): number {
    return this.exact.size + this.children.length + (this.defaultEntry ? 1 : 0);
  }

  addExact(host: string, entry: T): void {
    if (this.exact.has(host)) throw new ValueError(`host ${host} is matched by two entries`);
    this.exact.set(host, entry);
  }

  addChild(domain: string, entry: T): void {
    const suffix = `.${domain}`;
    if (this.children.some(([s]) => s === suffix)) throw new ValueError(`child domain ${domain} is matched by two entries`);
    this.children.push([suffix, entry]);
    this.children.sort((a, b) => b[0].length - a[0].length);
  }

  /** The entry for a host key (see hostKey), else the default entry. */
  get(host: string): T | undefined {
    const e = this.exact.get(host);
    if (e) return e;
    for (const [suffix, entry] of this.children) if (host.endsWith(suffix)) return entry;
    return this.defaultEntry;
  }
}

/** The lookup key of a requested host: canonical IP text or a lowercase domain without a trailing dot. */
export function hostKey(host: string): string {
  return normalizeIp(host) ?? host.toLowerCase().replace(/\.$/, '');
}

const MATCH_KEYS = ['exact_match', 'child_match', 'set_default'];

export const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

/**
 * Parse host-matched entries. `entryKeys` are the keys an entry may hold beside the match keys (written with
 * `-` or `_`, any case); `parseEntry` makes the entry from its normalised map. Errors carry the entry's index.
 */
export function parseHostMatched<T>(
  v: unknown,
  entryKeys: readonly string[],
  parseEntry: (m: Record<string, unknown>, index: number) => T,
  checkKey?: (key: string, written: string) => void,
): HostMatch<T> {
  const known = [...MATCH_KEYS, ...entryKeys];
  const hm = new HostMatch<T>();
  asList(v).forEach((raw, index) => {
    const path = Array.isArray(v) ? [String(index)] : [];
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValueError('a host entry must be a map');
      const m: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(raw)) {
        const key = k.toLowerCase().replace(/-/g, '_');
        checkKey?.(key, k);
        if (!known.includes(key)) throw new ValueError(`unknown key '${k}' in host entry (known: ${known.join(', ')})`, [k]);
        m[key] = val;
      }
      const entry = parseEntry(m, index);
      let matched = false;
      if (m.exact_match !== undefined) {
        for (const h of asList(m.exact_match)) hm.addExact(parseHost(h).host, entry);
        matched = true;
      }
      if (m.child_match !== undefined) {
        for (const d of asList(m.child_match)) hm.addChild(parseDomain(d, true), entry);
        matched = true;
      }
      if (m.set_default !== undefined && typeof m.set_default !== 'boolean') throw new ValueError('set_default must be a bool', ['set_default']);
      if (m.set_default === true || !matched) {
        if (hm.defaultEntry) throw new ValueError('a default host entry is already set');
        hm.defaultEntry = entry;
      }
    } catch (e) {
      if (e instanceof ValueError) throw new ValueError(e.message, [...path, ...(e.path ?? [])]);
      throw e;
    }
  });
  return hm;
}
