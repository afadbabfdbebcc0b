import { auditorDeps } from '../../audit/server-field.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { listeningDiff } from '../listen-diff.js';
import { parseSniProxyConfig, type SniProxyConfig } from './config.js';
import { sniProxySchema } from './schema.js';
import { SniProxyServer } from './server.js';

export const sniProxyType: ObjectTypeDef<SniProxyConfig, SniProxyServer> = {
  type: 'sni_proxy',
  aliases: ['sniproxy'],
  logName: 'SniProxy',
  schema: sniProxySchema,
  parse: parseSniProxyConfig,
  create: (cfg, runtime) => new SniProxyServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...auditorDeps(cfg.auditor), ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  diff: listeningDiff,
};
