import { parseDuration, parseSize, ValueError } from '@sluice/common';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseStreamServer, type StreamServerConfig } from '../tcp_stream/stream-config.js';
import { parseAllowedHosts, type SniHostMatch } from './hosts.js';
import { parsePortMap, type PortMap } from './portmap.js';

export interface SniProxyConfig extends StreamServerConfig {
  /** largest ClientHello accepted, handshake header included */
  tlsMaxClientHelloSize: number;
  /** from accept until the first bytes arrive */
  requestWaitTimeoutMs: number;
  /** from the first bytes until the ClientHello / request head is complete */
  requestRecvTimeoutMs: number;
  /** first read buffer size (protocol_inspection.data0_buffer_size) */
  initialBufferSize: number;
  /** undefined: every host is served */
  allowedHosts: SniHostMatch | undefined;
  serverTcpPortmap: PortMap | undefined;
  clientTcpPortmap: PortMap | undefined;
}

const INSPECTION_KEYS = ['inspect_max_depth', 'data0_buffer_size', 'data0_wait_timeout', 'data0_read_timeout', 'data0_size_limit'];

function parseInspection(v: unknown, ctx: ParseContext): { bufferSize: number } {
  if (v === undefined) return { bufferSize: 4096 };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) ctx.fail(['protocol_inspection'], 'protocol_inspection must be a map');
  const m = v as Record<string, unknown>;
  for (const k of Object.keys(m)) {
    if (!INSPECTION_KEYS.includes(k)) ctx.fail(['protocol_inspection', k], `unknown key '${k}' (known: ${INSPECTION_KEYS.join(', ')})`);
  }
  const at = <T>(k: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      return ctx.fail(['protocol_inspection', k], (e as Error).message);
    }
  };
  if (m.data0_wait_timeout !== undefined) at('data0_wait_timeout', () => parseDuration(m.data0_wait_timeout));
  if (m.data0_read_timeout !== undefined) at('data0_read_timeout', () => parseDuration(m.data0_read_timeout));
  const bufferSize = m.data0_buffer_size === undefined ? 4096 : at('data0_buffer_size', () => parseSize(m.data0_buffer_size));
  return { bufferSize: Math.min(Math.max(bufferSize, 512), 65536) };
}

function portMap(v: unknown, key: string, ctx: ParseContext): PortMap | undefined {
  if (v === undefined) return undefined;
  try {
    return parsePortMap(v);
  } catch (e) {
    return ctx.fail([key, ...((e as ValueError).path ?? [])], (e as Error).message);
  }
}

export function parseSniProxyConfig(v: Record<string, unknown>, ctx: ParseContext): SniProxyConfig {
  const base = parseStreamServer(v, ctx, 'sni_proxy');
  const max = v.tls_max_client_hello_size === undefined ? 1 << 16 : Number(v.tls_max_client_hello_size);
  if (!Number.isInteger(max) || max < 64 || max > 0xffffff + 4) ctx.fail(['tls_max_client_hello_size'], 'must be a size between 64 bytes and 16MiB');
  let allowedHosts: SniHostMatch | undefined;
  if (v.allowed_hosts !== undefined) {
    try {
      allowedHosts = parseAllowedHosts(v.allowed_hosts);
    } catch (e) {
      ctx.fail(['allowed_hosts', ...((e as ValueError).path ?? [])], (e as Error).message);
    }
  }
  return Object.freeze({
    ...base,
    tlsMaxClientHelloSize: max,
    requestWaitTimeoutMs: v.request_wait_timeout === undefined ? 60_000 : parseDuration(v.request_wait_timeout),
    requestRecvTimeoutMs: v.request_recv_timeout === undefined ? 4000 : parseDuration(v.request_recv_timeout),
    initialBufferSize: parseInspection(v.protocol_inspection, ctx).bufferSize,
    allowedHosts,
    serverTcpPortmap: portMap(v.server_tcp_portmap, 'server_tcp_portmap', ctx),
    clientTcpPortmap: portMap(v.client_tcp_portmap, 'client_tcp_portmap', ctx),
  });
}
