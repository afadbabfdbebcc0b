/** `native_tls_port` (NativeTlsPort): TLS listener in front of another server (g3's OpenSSL-based port; in sluice the same as plain_tls_port), with an optional PROXY protocol header read before TLS. */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { listeningDiff } from '../listen-diff.js';
import { parsePortConfig, portFields, PortServer, tlsServerField, type PortConfig } from '../port-server.js';
import { listeningServerAliases } from '../server-config.js';
import { tlsTicketerField } from '../../tls/ticketer-config.js';

const schema = objectSchema(['native_tls_port', 'nativetlsport'], {
  ...commonServerFields,
  ...portFields,
  tls_server: tlsServerField,
  tls_ticketer: tlsTicketerField,
}, { required: ['listen', 'server', 'tls_server'], aliases: { ...listeningServerAliases } });

export const nativeTlsPortType: ObjectTypeDef<PortConfig, PortServer> = {
  type: 'native_tls_port',
  aliases: ['nativetlsport'],
  logName: 'NativeTlsPort',
  schema,
  parse: (v, ctx) => parsePortConfig(v, ctx, 'native_tls_port', true),
  create: (cfg, runtime) => new PortServer('NativeTlsPort', cfg, runtime),
  dependsOn: (cfg) => ({ server: [cfg.server] }),
  diff: listeningDiff,
};
