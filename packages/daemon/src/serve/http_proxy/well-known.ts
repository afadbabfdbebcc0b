/**
 * Requests addressed to the proxy itself ("local" requests) and the well-known URIs g3 serves on them:
 *   /.well-known/easy-proxy/<http|https>/<host>/<port>/<path...>  → forward to <scheme>://<host>:<port>/<path...>
 *   /.well-known/masque/http/<percent-encoded absolute URI>       → forward to that URI
 * A request is local when it is in origin-form and either no local_server_name is set or its Host is one of
 * them, or when it is in absolute-form and names one of the local server names.
 */
import { parseAbsoluteTarget, type RequestHead } from '@sluice/protocol';

export type LocalTarget = { target: string } | { error: string; status: number };

function hostWithoutPort(h: string): string {
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']')).toLowerCase();
  const c = h.indexOf(':');
  return (c < 0 ? h : h.slice(0, c)).toLowerCase();
}

/** The path (with query) of an origin-form or absolute-form target. */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target;
  const start = target.indexOf('://') + 3;
  const slash = target.indexOf('/', start);
  return slash < 0 ? '/' : target.slice(slash);
}

/** null: not a local request (handle as a proxy request). */
export function localTarget(req: RequestHead, names: readonly string[]): LocalTarget | null {
  const t = req.target;
  if (t.startsWith('/')) {
    if (names.length > 0 && !(req.host !== undefined && names.includes(hostWithoutPort(req.host)))) return null;
  } else {
    if (names.length === 0) return null;
    let host: string;
    try {
      const a = parseAbsoluteTarget(t);
      if (!a) return null;
      host = a.host.toLowerCase();
    } catch {
      return null; // the caller reports the bad target
    }
    if (!names.includes(host)) return null;
  }
  return wellKnown(pathOf(t));
}

function wellKnown(path: string): LocalTarget {
  const segs = path.split('?')[0]!.split('/').filter((x) => x.length > 0);
  if (segs[0] !== '.well-known') return { error: 'request to the proxy itself is not a well-known URI', status: 400 };
  if (segs[1] === 'easy-proxy') {
    const [, , scheme, host, port] = segs;
    if (scheme === 'ftp') return { error: 'easy-proxy ftp is not supported by this server', status: 501 };
    if ((scheme !== 'http' && scheme !== 'https') || !host || !port || !/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return { error: 'easy-proxy URI needs /<http|https>/<host>/<port>/', status: 400 };
    }
    // the rest of the path, query included, exactly as sent
    const prefix = `/.well-known/easy-proxy/${scheme}/${host}/${port}`;
    const at = path.indexOf(prefix);
    const rest = at === 0 ? path.slice(prefix.length) : '';
    const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    return { target: `${scheme}://${h}:${port}${rest.startsWith('/') ? rest : `/${rest}`}` };
  }
  if (segs[1] === 'masque') {
    if (segs[2] !== 'http' || segs.length !== 4) return { error: 'masque URI needs /.well-known/masque/http/<encoded URI>', status: 400 };
    let uri: string;
    try {
      uri = decodeURIComponent(segs[3]!);
    } catch {
      return { error: 'masque URI is not valid percent-encoding', status: 400 };
    }
    if (!/^https?:\/\//i.test(uri)) return { error: 'masque URI must be an http or https URI', status: 400 };
    return { target: uri };
  }
  return { error: `unsupported well-known URI '${String(segs[1]).slice(0, 32)}'`, status: 400 };
}
