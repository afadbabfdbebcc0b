/**
 * g3's protocol portmaps (`server_tcp_portmap`, `client_tcp_portmap`): which protocol(s) a port suggests, as a
 * list of `{port, protocol}` maps or a map `port: protocol(s)`. g3 uses them to order its protocol guesses.
 * sluice's sni_proxy tells TLS from HTTP/1 by the first byte, so a hint never changes the outcome; the maps are
 * checked so a typo still fails `sluice -t`.
 */
import { ValueError } from '@sluice/common';

/** g3's "maybe protocol" names */
const PROTOCOLS = ['http', 'https', 'smtp', 'ssh', 'ftp', 'pop3', 'pop3s', 'nntp', 'nntps', 'imap', 'imaps', 'nats', 'bittorrent'];

export type PortMap = ReadonlyMap<number, readonly string[]>;

function port(v: unknown, path: string[]): number {
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ValueError(`invalid port '${String(v)}'`, path);
  return n;
}

function protocols(v: unknown, path: string[]): string[] {
  return (Array.isArray(v) ? v : [v]).map((p, i) => {
    const s = typeof p === 'string' ? p.trim().toLowerCase() : '';
    if (!PROTOCOLS.includes(s)) throw new ValueError(`unknown protocol '${String(p)}' (known: ${PROTOCOLS.join(', ')})`, Array.isArray(v) ? [...path, String(i)] : path);
    return s;
  });
}

export function parsePortMap(v: unknown): PortMap {
  const m = new Map<number, string[]>();
  const add = (p: number, list: string[]) => m.set(p, [...(m.get(p) ?? []), ...list]);
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new ValueError('a portmap entry must be a map {port, protocol}', [String(i)]);
      const r = e as Record<string, unknown>;
      for (const k of Object.keys(r)) if (k !== 'port' && k !== 'protocol') throw new ValueError(`unknown key '${k}' in portmap entry`, [String(i), k]);
      if (r.port === undefined || r.protocol === undefined) throw new ValueError('a portmap entry needs port and protocol', [String(i)]);
      add(port(r.port, [String(i), 'port']), protocols(r.protocol, [String(i), 'protocol']));
    });
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, p] of Object.entries(v)) add(port(k, [k]), protocols(p, [k]));
  } else {
    throw new ValueError('a portmap must be a list of {port, protocol} or a map port: protocol');
  }
  return m;
}
