import { auditorDeps } from '../../audit/server-field.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { parseSocksProxyConfig, type SocksProxyConfig } from './config.js';
import { socksProxySchema } from './schema.js';
import { SocksProxyServer } from './server.js';

export const socksProxyType: ObjectTypeDef<SocksProxyConfig, SocksProxyServer> = {
  type: 'socks_proxy',
  aliases: ['socksproxy'],
  logName: 'SocksProxy',
  schema: socksProxySchema,
  parse: parseSocksProxyConfig,
  create: (cfg, runtime) => new SocksProxyServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...auditorDeps(cfg.auditor), ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  // As g3: a changed listen address needs a new listener; everything else applies to new tasks in place.
  diff: (a, b) => (JSON.stringify(a.raw) === JSON.stringify(b.raw) ? 'none' : JSON.stringify(a.listen) === JSON.stringify(b.listen) ? 'reload' : 'respawn'),
};
