import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseProxyHttpConfig, type ProxyHttpConfig } from './config.js';
import { ProxyHttpEscaper } from './proxy-http-escaper.js';
import { proxyHttpSchema } from './schema.js';

export const proxyHttpType: ObjectTypeDef<ProxyHttpConfig, ProxyHttpEscaper> = {
  type: 'proxy_http',
  logName: 'ProxyHttp',
  schema: proxyHttpSchema('proxy_http'),
  parse: (v, ctx) => parseProxyHttpConfig(v, ctx, 'proxy_http'),
  create: (cfg, runtime) => new ProxyHttpEscaper(cfg, runtime),
  dependsOn: (cfg) => ({ resolver: cfg.resolver ? [cfg.resolver] : [] }),
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) && a.baseDir === b.baseDir ? 'none' : 'reload'),
};
