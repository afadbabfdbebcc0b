import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseHttpRProxyConfig, type HttpRProxyConfig } from './config.js';
import { httpRProxySchema } from './schema.js';
import { HttpRProxyServer } from './server.js';

export const httpRProxyType: ObjectTypeDef<HttpRProxyConfig, HttpRProxyServer> = {
  type: 'http_rproxy',
  aliases: ['http_reverse_proxy', 'http_gateway'],
  logName: 'HttpRProxy',
  schema: httpRProxySchema,
  parse: parseHttpRProxyConfig,
  create: (cfg, runtime) => new HttpRProxyServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  // A changed listen address needs a new listener; sites, TLS and timeouts apply to new connections in place.
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : JSON.stringify(a.listen) === JSON.stringify(b.listen) ? 'reload' : 'respawn'),
};
