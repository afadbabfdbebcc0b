import { auditorDeps } from '../../audit/server-field.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { listeningDiff } from '../listen-diff.js';
import { parseTlsStreamConfig, type TlsStreamConfig } from './config.js';
import { tlsStreamSchema } from './schema.js';
import { TlsStreamServer } from './server.js';

export const tlsStreamType: ObjectTypeDef<TlsStreamConfig, TlsStreamServer> = {
  type: 'tls_stream',
  aliases: ['tlsstream'],
  logName: 'TlsStream',
  schema: tlsStreamSchema,
  parse: parseTlsStreamConfig,
  create: (cfg, runtime) => new TlsStreamServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...auditorDeps(cfg.auditor), ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  diff: listeningDiff,
};
