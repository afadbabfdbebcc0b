import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { peerTypeLinks } from '../proxy-peer.js';
import { parseProxyHttpConfig, type ProxyHttpConfig } from './config.js';
import { ProxyHttpEscaper } from './proxy-http-escaper.js';
import { proxyHttpSchema } from './schema.js';

export const proxyHttpType: ObjectTypeDef<ProxyHttpConfig, ProxyHttpEscaper> = {
  type: 'proxy_http',
  logName: 'ProxyHttp',
  schema: proxyHttpSchema('proxy_http'),
  parse: (v, ctx) => parseProxyHttpConfig(v, ctx, 'proxy_http'),
  create: (cfg, runtime) => new ProxyHttpEscaper(cfg, runtime),
  ...peerTypeLinks,
};
