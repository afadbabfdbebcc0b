import type { ParseContext } from '../../runtime/object-def.js';
import { parseStreamServer, parseStreamUpstream, type StreamServerConfig, type StreamUpstreamConfig } from './stream-config.js';

export interface TcpStreamConfig extends StreamServerConfig, StreamUpstreamConfig {}

export function parseTcpStreamConfig(v: Record<string, unknown>, ctx: ParseContext): TcpStreamConfig {
  return Object.freeze({ ...parseStreamServer(v, ctx, 'tcp_stream'), ...parseStreamUpstream(v, ctx) });
}
