/** `plain_tls_port` (PlainTlsPort): TLS listener in front of another server (TLS terminated here, optional client-certificate check), with an optional PROXY protocol header read before TLS. */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { listeningDiff } from '../listen-diff.js';
import { parsePortConfig, portFields, PortServer, tlsServerField, type PortConfig } from '../port-server.js';
import { listeningServerAliases } from '../server-config.js';
import { tlsTicketerField } from '../../tls/ticketer-config.js';

const schema = objectSchema(['plain_tls_port', 'plaintlsport'], {
  ...commonServerFields,
  ...portFields,
  tls_server: tlsServerField,
  tls_ticketer: tlsTicketerField,
}, { required: ['listen', 'server', 'tls_server'], aliases: { ...listeningServerAliases } });

export const plainTlsPortType: ObjectTypeDef<PortConfig, PortServer> = {
  type: 'plain_tls_port',
  aliases: ['plaintlsport'],
  logName: 'PlainTlsPort',
  schema,
  parse: (v, ctx) => parsePortConfig(v, ctx, 'plain_tls_port', true),
  create: (cfg, runtime) => new PortServer('PlainTlsPort', cfg, runtime),
  dependsOn: (cfg) => ({ server: [cfg.server] }),
  diff: listeningDiff,
};
