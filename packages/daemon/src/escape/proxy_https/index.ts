/** `proxy_https`: proxy_http with TLS to the next proxy (`tls_client`, `tls_name`; mTLS via a client cert pair). */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { peerTypeLinks } from '../proxy-peer.js';
import { parseProxyHttpConfig, type ProxyHttpConfig } from '../proxy_http/config.js';
import { ProxyHttpEscaper } from '../proxy_http/proxy-http-escaper.js';
import { proxyHttpSchema } from '../proxy_http/schema.js';

export const proxyHttpsType: ObjectTypeDef<ProxyHttpConfig, ProxyHttpEscaper> = {
  type: 'proxy_https',
  logName: 'ProxyHttps',
  schema: proxyHttpSchema('proxy_https'),
  parse: (v, ctx) => parseProxyHttpConfig(v, ctx, 'proxy_https'),
  create: (cfg, runtime) => new ProxyHttpEscaper(cfg, runtime),
  ...peerTypeLinks,
};
