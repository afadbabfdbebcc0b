/** `plain_tcp_port` (PlainTcpPort): Extra TCP listener in front of another server: optional PROXY protocol header on ingress; the server behind sees the client address it names. */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { listeningDiff } from '../listen-diff.js';
import { parsePortConfig, portFields, PortServer, type PortConfig } from '../port-server.js';
import { listeningServerAliases } from '../server-config.js';

const schema = objectSchema(['plain_tcp_port', 'plaintcpport'], {
  ...commonServerFields,
  ...portFields,

}, { required: ['listen', 'server'], aliases: { ...listeningServerAliases } });

export const plainTcpPortType: ObjectTypeDef<PortConfig, PortServer> = {
  type: 'plain_tcp_port',
  aliases: ['plaintcpport'],
  logName: 'PlainTcpPort',
  schema,
  parse: (v, ctx) => parsePortConfig(v, ctx, 'plain_tcp_port', false),
  create: (cfg, runtime) => new PortServer('PlainTcpPort', cfg, runtime),
  dependsOn: (cfg) => ({ server: [cfg.server] }),
  diff: listeningDiff,
};
