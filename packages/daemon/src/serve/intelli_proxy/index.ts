/**
 * `intelli_proxy` (IntelliProxy): one port for both proxy protocols. After an optional PROXY protocol header it
 * looks at the first byte: 0x04/0x05 is a SOCKS greeting and goes to `socks_server`, anything else to
 * `http_server`. A client that sends nothing within `protocol_detection_timeout` is closed silently.
 */
import type { Socket } from 'node:net';
import { parseDuration } from '@sluice/common';
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import type { Runtime } from '../../runtime/runtime.js';
import { commonServerFields, g3, objectSchema, str } from '../../runtime/schema-util.js';
import { ListeningServer, type AliveWork, type ListeningServerConfig } from '../base-server.js';
import { applyProxyHeader, peekFirstByte, readProxyProtocol } from '../ingress-prelude.js';
import { listeningDiff } from '../listen-diff.js';
import { parseOptionalProxyProtocol, proxyProtocolField } from '../port-server.js';
import { listeningServerAliases, listeningServerFields, parseListeningServerBase } from '../server-config.js';
import type { ClientInfo } from '../types.js';

export interface IntelliProxyConfig extends ListeningServerConfig {
  httpServer: string;
  socksServer: string;
  detectionTimeoutMs: number;
  proxyProtocol: 0 | 1 | 2;
  proxyProtocolReadTimeoutMs: number;
}

const schema = objectSchema(['intelli_proxy', 'intelliproxy', 'ppdp_tcp_port'], {
  ...commonServerFields,
  listen: listeningServerFields.listen,
  ingress_network_filter: listeningServerFields.ingress_network_filter,
  http_server: str('Server that takes connections detected as HTTP (required).'),
  socks_server: str('Server that takes connections detected as SOCKS 4/5 (required).'),
  protocol_detection_timeout: g3('duration', 'Time allowed for the first byte; a silent client is closed (default 4s).'),
  proxy_protocol: proxyProtocolField,
  proxy_protocol_read_timeout: g3('duration', 'Time allowed to receive the PROXY protocol header (default 5s).'),
}, { required: ['listen', 'http_server', 'socks_server'], aliases: { ...listeningServerAliases } });

class Detecting implements AliveWork {
  readonly idle = true;
  constructor(readonly socket: Socket) {}
  abort(): void {
    this.socket.destroy();
  }
}

export class IntelliProxyServer extends ListeningServer<IntelliProxyConfig> {
  readonly logName = 'IntelliProxy';

  constructor(config: IntelliProxyConfig, runtime: Runtime) {
    super(config, runtime);
  }

  acceptSocket(socket: Socket, info: ClientInfo): void {
    this.stats.connTotal++;
    const work = new Detecting(socket);
    this.track(work);
    void this.detect(socket, info).then(
      ({ name, info: real }) => {
        this.untrack(work);
        const next = this.runtime.server(name);
        if (!next || !next.online || socket.destroyed) {
          socket.destroy();
          return;
        }
        next.acceptSocket(socket, real);
      },
      () => {
        this.untrack(work);
        this.stats.listenDropped++;
        socket.destroy();
      },
    );
  }

  private async detect(socket: Socket, info: ClientInfo): Promise<{ name: string; info: ClientInfo }> {
    const c = this.config;
    if (c.proxyProtocol) info = applyProxyHeader(info, await readProxyProtocol(socket, c.proxyProtocol, c.proxyProtocolReadTimeoutMs));
    const first = await peekFirstByte(socket, c.detectionTimeoutMs);
    return { name: first === 0x04 || first === 0x05 ? c.socksServer : c.httpServer, info };
  }
}

export const intelliProxyType: ObjectTypeDef<IntelliProxyConfig, IntelliProxyServer> = {
  type: 'intelli_proxy',
  aliases: ['intelliproxy', 'ppdp_tcp_port'],
  logName: 'IntelliProxy',
  schema,
  parse: (v, ctx) => {
    const base = parseListeningServerBase(v, ctx, 'intelli_proxy');
    if (!base.listen) ctx.fail(['listen'], 'intelli_proxy needs listen');
    return Object.freeze({
      ...base,
      httpServer: v.http_server as string,
      socksServer: v.socks_server as string,
      detectionTimeoutMs: v.protocol_detection_timeout === undefined ? 4000 : parseDuration(v.protocol_detection_timeout),
      proxyProtocol: parseOptionalProxyProtocol(v.proxy_protocol),
      proxyProtocolReadTimeoutMs: v.proxy_protocol_read_timeout === undefined ? 5000 : parseDuration(v.proxy_protocol_read_timeout),
    });
  },
  create: (cfg, runtime) => new IntelliProxyServer(cfg, runtime),
  dependsOn: (cfg) => ({ server: [cfg.httpServer, cfg.socksServer] }),
  diff: listeningDiff,
};
