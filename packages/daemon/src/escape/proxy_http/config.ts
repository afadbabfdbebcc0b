import { asBool, parseSize } from '@sluice/common';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseProxyPeerConfig, type ProxyPeerConfig } from '../proxy-peer.js';

export interface HttpForwardCapability {
  forwardHttps: boolean;
  forwardFtp: { get: boolean; put: boolean; del: boolean };
}

export interface ProxyHttpConfig extends ProxyPeerConfig {
  capability: HttpForwardCapability;
  connectRspHeaderMaxSize: number;
}

/** `http_forward_capability`: a map of booleans; `forward_ftp` sets the three ftp ones at once. */
export function parseCapability(v: unknown): HttpForwardCapability {
  const m = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const b = (x: unknown, d: boolean) => (x === undefined ? d : asBool(x));
  const ftp = b(m.forward_ftp, false);
  return {
    forwardHttps: b(m.forward_https, false),
    forwardFtp: { get: b(m.forward_ftp_get, ftp), put: b(m.forward_ftp_put, ftp), del: b(m.forward_ftp_del, ftp) },
  };
}

export function parseProxyHttpConfig(v: Record<string, unknown>, ctx: ParseContext, type: 'proxy_http' | 'proxy_https'): ProxyHttpConfig {
  const base = parseProxyPeerConfig(v, ctx, type, 3128, type === 'proxy_https');
  return Object.freeze({
    ...base,
    capability: parseCapability(v.http_forward_capability),
    connectRspHeaderMaxSize: v.http_connect_rsp_header_max_size === undefined ? 4096 : parseSize(v.http_connect_rsp_header_max_size),
  });
}
