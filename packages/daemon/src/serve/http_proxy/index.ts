import { auditorDeps } from '../../audit/server-field.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseHttpProxyConfig, type HttpProxyConfig } from './config.js';
import { httpProxySchema } from './schema.js';
import { HttpProxyServer } from './server.js';

export const httpProxyType: ObjectTypeDef<HttpProxyConfig, HttpProxyServer> = {
  type: 'http_proxy',
  aliases: ['httpproxy'],
  logName: 'HttpProxy',
  schema: httpProxySchema,
  parse: parseHttpProxyConfig,
  create: (cfg, runtime) => new HttpProxyServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...auditorDeps(cfg.auditor), ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  // A changed listen address needs a new listener; everything else applies to new tasks in place.
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : JSON.stringify(a.listen) === JSON.stringify(b.listen) ? 'reload' : 'respawn'),
};
