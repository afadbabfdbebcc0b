/**
 * Per-user request filters: http_user_agent_filter and proxy_request_filter.
 */
import { ValueError, describe } from '../errors.js';
import { asAscii, own } from '../primitives.js';
import type { AclAction } from './action.js';
import { walkAclRule } from './rule.js';

/**
 * User-Agent filter. Records are product tokens (`curl`, `Go-http-client`), compared case-insensitively.
 * Defaults are inverted compared to other rules: a listed product is forbidden, anything else permitted.
 */
export class UserAgentFilter {
  constructor(
    /** lowercased product → action, sorted by product so the first hit is deterministic (as g3proxy's BTreeMap) */
    private readonly products: readonly (readonly [string, AclAction])[],
    readonly missedAction: AclAction,
  ) {
    Object.freeze(this);
  }

  /**
   * The action for a User-Agent header value. A product matches where it stands as a whole token: at the
   * start or after a space or `;`, and followed by the end, `/`, a space or `;` (so `curl` matches
   * `curl/8.0` and `Foo; curl` but not `libcurl/7.1`).
   */
  lookup(userAgent: string): AclAction | undefined {
    if (this.products.length === 0) return undefined;
    const ua = userAgent.toLowerCase();
    for (const [product, action] of this.products) {
      let from = 0;
      for (;;) {
        const pos = ua.indexOf(product, from);
        if (pos < 0) break;
        const before = pos === 0 ? 32 : ua.charCodeAt(pos - 1);
        const end = pos + product.length;
        const after = end === ua.length ? 32 : ua.charCodeAt(end);
        if ((before === 32 || before === 59) && (after === 47 || after === 32 || after === 59)) return action;
        from = pos + 1;
      }
    }
    return undefined;
  }

  check(userAgent: string): AclAction {
    return this.lookup(userAgent) ?? this.missedAction;
  }
}

export function parseUserAgentFilter(v: unknown): UserAgentFilter {
  const products = new Map<string, AclAction>();
  const missed = walkAclRule(v, { foundAction: 'forbid' }, (action, record) => {
    const name = asAscii(record).trim().toLowerCase();
    if (name === '') throw new ValueError('user-agent product name must not be empty');
    products.set(name, action);
  });
  const sorted = [...products].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new UserAgentFilter(sorted, missed ?? 'permit');
}

export type ProxyRequestType = 'HttpForward' | 'HttpsForward' | 'FtpOverHttp' | 'HttpConnect' | 'SocksTcpConnect' | 'SocksUdpAssociate';

const REQUEST_TYPES: Readonly<Record<string, ProxyRequestType>> = {
  httpforward: 'HttpForward',
  httpsforward: 'HttpsForward',
  ftpoverhttp: 'FtpOverHttp',
  httpconnect: 'HttpConnect',
  sockstcpconnect: 'SocksTcpConnect',
  socksudpassociate: 'SocksUdpAssociate',
};

/** A proxy request type name, case- and underscore-insensitive (`HttpForward`, `http_forward`). */
export function parseProxyRequestType(v: unknown): ProxyRequestType {
  if (typeof v !== 'string') throw new ValueError(`proxy request type must be a string, got ${describe(v)}`);
  const t = own(REQUEST_TYPES, v.trim().toLowerCase().replace(/[_-]/g, ''));
  if (!t) {
    throw new ValueError(
      `unknown proxy request type '${v}' (use HttpForward, HttpsForward, FtpOverHttp, HttpConnect, SocksTcpConnect or SocksUdpAssociate)`,
    );
  }
  return t;
}

export class ProxyRequestFilter {
  constructor(
    private readonly types: ReadonlyMap<ProxyRequestType, AclAction>,
    readonly missedAction: AclAction,
  ) {
    Object.freeze(this);
  }

  lookup(type: ProxyRequestType): AclAction | undefined {
    return this.types.get(type);
  }

  check(type: ProxyRequestType): AclAction {
    return this.types.get(type) ?? this.missedAction;
  }
}

/** proxy_request_filter: records are request types; missed ⇒ forbid, found ⇒ permit unless set. */
export function parseProxyRequestFilter(v: unknown): ProxyRequestFilter {
  const types = new Map<ProxyRequestType, AclAction>();
  const missed = walkAclRule(v, { foundAction: 'permit' }, (action, record) => {
    types.set(parseProxyRequestType(record), action);
  });
  return new ProxyRequestFilter(types, missed ?? 'forbid');
}
