import { auditorDeps } from '../../audit/server-field.js';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { listeningDiff } from '../listen-diff.js';
import { parseTcpStreamConfig, type TcpStreamConfig } from './config.js';
import { tcpStreamSchema } from './schema.js';
import { TcpStreamServer } from './server.js';

export const tcpStreamType: ObjectTypeDef<TcpStreamConfig, TcpStreamServer> = {
  type: 'tcp_stream',
  aliases: ['tcpstream'],
  logName: 'TcpStream',
  schema: tcpStreamSchema,
  parse: parseTcpStreamConfig,
  create: (cfg, runtime) => new TcpStreamServer(cfg, runtime),
  dependsOn: (cfg) => ({ escaper: [cfg.escaper], ...auditorDeps(cfg.auditor), ...(cfg.auth.userGroup ? { user_group: [cfg.auth.userGroup] } : {}) }),
  // as g3: a changed listen address needs a new listener; anything else applies to new tasks in place
  diff: listeningDiff,
};
