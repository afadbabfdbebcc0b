/**
 * username_params (http_proxy / socks_proxy servers, g3proxy/src/config/auth/user/name_params.rs):
 * a username `base+key1=v1+key2=v2` picks the next-hop proxy address. The values of `keys_for_host`, in
 * that order, joined by `separator` (plus `domain_suffix`) form the host; the port is `http_port` or
 * `socks5_port` by client protocol; authentication uses `base` when `strip_suffix_for_auth`.
 *
 * Defaults follow the code: socks5_port is 10001 (the sphinx page and the digest say 10000; the code wins).
 */
import { SluiceError } from '../errors.js';
import { ValueError } from './errors.js';
import { hostFromText } from './host.js';
import { asBool, asString, asU16, expectMap, forEachKey, parseList } from './primitives.js';
import type { UpstreamAddr } from './upstream.js';

export interface EgressUpstream {
  readonly addr: UpstreamAddr;
  /** value of resolve_sticky_key in the params, '' if absent */
  readonly resolveStickyKey: string;
}

export class UsernameParams {
  private readonly knownKeys: ReadonlySet<string>;

  constructor(
    readonly keysForHost: readonly string[],
    readonly resolveStickyKeyName: string,
    readonly requireHierarchy: boolean,
    readonly floatingKeys: readonly string[],
    readonly rejectUnknownKeys: boolean,
    readonly rejectDuplicateKeys: boolean,
    readonly separator: string,
    /** '' or starting with '.' */
    readonly domainSuffix: string,
    readonly httpPort: number,
    readonly socks5Port: number,
    readonly stripSuffixForAuth: boolean,
  ) {
    const known = new Set(keysForHost);
    if (resolveStickyKeyName !== '') known.add(resolveStickyKeyName);
    this.knownKeys = known;
    Object.freeze(this);
  }

  /** The username to authenticate: the part before the first '+' when strip_suffix_for_auth. */
  realUsername(raw: string): string {
    if (!this.stripSuffixForAuth) return raw;
    const plus = raw.indexOf('+');
    return plus < 0 ? raw : raw.slice(0, plus);
  }

  /**
   * The next hop chosen by the params in `raw`, or null when the username carries none that form a host.
   * Invalid params throw a SluiceError CLIENT_PROTOCOL_INVALID (HTTP 400 / SOCKS failure).
   */
  egressUpstream(raw: string, protocol: 'http' | 'socks5'): EgressUpstream | null {
    const plus = raw.indexOf('+');
    if (plus < 0) return null;
    const params = new Map<string, string>();
    const segments = raw.slice(plus + 1).split('+');
    for (let i = 0; i < segments.length; i++) {
      const param = segments[i]!;
      // a trailing '+' adds nothing; an empty segment in the middle is malformed
      if (param === '' && i === segments.length - 1) continue;
      const eq = param.indexOf('=');
      if (eq < 0) throw invalid(`no '=' in username param '${param}'`);
      const key = param.slice(0, eq);
      const value = param.slice(eq + 1);
      if (key === '' || value === '') throw invalid(`empty key or value in username param '${param}'`);
      if (this.rejectUnknownKeys && !this.knownKeys.has(key)) throw invalid(`unknown username param '${param}'`);
      if (params.has(key) && this.rejectDuplicateKeys) throw invalid(`duplicate key in username param '${param}'`);
      params.set(key, value);
    }
    if (params.size === 0) return null;
    if (this.requireHierarchy) {
      let missing = false;
      for (const key of this.keysForHost) {
        if (this.floatingKeys.includes(key)) continue;
        if (!params.has(key)) missing = true;
        else if (missing) throw invalid(`username param ${key} needs the keys before it to be present`);
      }
    }
    const labels: string[] = [];
    for (const key of this.keysForHost) {
      const value = params.get(key);
      if (value !== undefined) labels.push(value);
    }
    let host = labels.join(this.separator);
    if (host === '') return null;
    const resolveStickyKey = this.resolveStickyKeyName === '' ? '' : (params.get(this.resolveStickyKeyName) ?? '');
    host += this.domainSuffix;
    const port = protocol === 'http' ? this.httpPort : this.socks5Port;
    const lower = host.toLowerCase();
    // never resolve "localhost" names through DNS; g3proxy pins them to 127.0.0.1
    if (lower === 'localhost' || lower.endsWith('.localhost')) {
      return { addr: Object.freeze({ host: '127.0.0.1', port, ipFamily: 4 }), resolveStickyKey };
    }
    let parsed;
    try {
      parsed = hostFromText(host);
    } catch (e) {
      throw invalid(`username params give an invalid host: ${(e as Error).message}`);
    }
    return { addr: Object.freeze({ host: parsed.host, port, ipFamily: parsed.ipFamily }), resolveStickyKey };
  }
}

function invalid(message: string): SluiceError {
  return new SluiceError('CLIENT_PROTOCOL_INVALID', message);
}

/** The username_params map of a server. */
export function parseUsernameParams(v: unknown): UsernameParams {
  const map = expectMap(v, 'username_params');
  let keysForHost: readonly string[] = [];
  let resolveStickyKey = '';
  let requireHierarchy = true;
  let floatingKeys: readonly string[] = [];
  let rejectUnknownKeys = true;
  let rejectDuplicateKeys = true;
  let separator = '-';
  let domainSuffix = '';
  let httpPort = 10000;
  let socks5Port = 10001;
  let stripSuffixForAuth = true;
  const keys = (x: unknown) => (keysForHost = parseList(x, asString));
  const floating = (x: unknown) => (floatingKeys = parseList(x, asString));
  const suffix = (x: unknown) => {
    const s = asString(x);
    domainSuffix = s === '' || s.startsWith('.') ? s : `.${s}`;
  };
  const socks = (x: unknown) => (socks5Port = asU16(x));
  const strip = (x: unknown) => (stripSuffixForAuth = asBool(x));
  forEachKey(map, 'username_params', {
    keys_for_host: keys,
    keys,
    resolve_sticky_key: (x) => (resolveStickyKey = asString(x)),
    require_hierarchy: (x) => (requireHierarchy = asBool(x)),
    reject_unknown_keys: (x) => (rejectUnknownKeys = asBool(x)),
    floating_keys: floating,
    floating,
    reject_duplicate_keys: (x) => (rejectDuplicateKeys = asBool(x)),
    separator: (x) => (separator = asString(x)),
    domain_suffix: suffix,
    suffix,
    http_port: (x) => (httpPort = asU16(x)),
    socks5_port: socks,
    socks_port: socks,
    strip_suffix_for_auth: strip,
    auth_strip_suffix: strip,
  });
  keysForHost.forEach((k, i) => {
    if (k === '') throw new ValueError('keys_for_host contains an empty key', ['keys_for_host', String(i)]);
  });
  floatingKeys.forEach((k, i) => {
    if (!keysForHost.includes(k)) throw new ValueError(`floating key '${k}' must also be listed in keys_for_host`, ['floating_keys', String(i)]);
  });
  return new UsernameParams(
    keysForHost,
    resolveStickyKey,
    requireHierarchy,
    floatingKeys,
    rejectUnknownKeys,
    rejectDuplicateKeys,
    separator,
    domainSuffix,
    httpPort,
    socks5Port,
    stripSuffixForAuth,
  );
}
