import { ValueError } from '@sluice/common';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseTlsServer, type TlsServerConfig } from '../../tls/tls-config.js';
import { parseStreamServer, parseStreamUpstream, type StreamServerConfig, type StreamUpstreamConfig } from '../tcp_stream/stream-config.js';

export interface TlsStreamConfig extends StreamServerConfig, StreamUpstreamConfig {
  tlsServer: TlsServerConfig;
}

export function parseTlsStreamConfig(v: Record<string, unknown>, ctx: ParseContext): TlsStreamConfig {
  if (v.tls_server === undefined) ctx.fail(['tls_server'], 'tls_server is required');
  let tlsServer: TlsServerConfig;
  try {
    tlsServer = parseTlsServer(v.tls_server, ctx.baseDir);
  } catch (e) {
    return ctx.fail(['tls_server', ...((e as ValueError).path ?? [])], (e as Error).message);
  }
  return Object.freeze({ ...parseStreamServer(v, ctx, 'tls_stream'), ...parseStreamUpstream(v, ctx), tlsServer });
}
