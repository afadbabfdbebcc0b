/** `dummy_close` (DummyClose): accepts connections and closes them at once (a placeholder or a tarpit-free drop port). */
import type { Socket } from 'node:net';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { commonServerFields, objectSchema } from '../../runtime/schema-util.js';
import { ListeningServer, type ListeningServerConfig } from '../base-server.js';
import { listeningDiff } from '../listen-diff.js';
import { listeningServerAliases, listeningServerFields, parseListeningServerBase } from '../server-config.js';

const schema = objectSchema(['dummy_close', 'dummyclose'], {
  ...commonServerFields,
  listen: listeningServerFields.listen,
  ingress_network_filter: listeningServerFields.ingress_network_filter,
}, { aliases: { ...listeningServerAliases } });

export class DummyCloseServer extends ListeningServer<ListeningServerConfig> {
  readonly logName = 'DummyClose';

  acceptSocket(socket: Socket): void {
    this.stats.connTotal++;
    socket.destroy();
  }
}

export const dummyCloseType: ObjectTypeDef<ListeningServerConfig, DummyCloseServer> = {
  type: 'dummy_close',
  aliases: ['dummyclose'],
  logName: 'DummyClose',
  schema,
  parse: (v, ctx) => Object.freeze(parseListeningServerBase(v, ctx, 'dummy_close')),
  create: (cfg, runtime) => new DummyCloseServer(cfg, runtime),
  diff: listeningDiff,
};
