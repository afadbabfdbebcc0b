import { parseDuration, parseHttpKeepalive, parseSize, parseTcpSpeedLimit, ValueError, type TcpSpeedLimit } from '@sluice/common';
import { parseServerAuth, type ServerAuthConfig } from '../../auth/server-auth-config.js';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseTlsServer, type TlsServerConfig } from '../../tls/tls-config.js';
import { parseTlsTicketer, type TlsTicketerConfig } from '../../tls/ticketer-config.js';
import type { ListeningServerConfig } from '../base-server.js';
import { parseForwardedMode, parseServerId, type ForwardedMode } from '../http/forwarded.js';
import { parseTaskLogEvents } from '../../task/task-events.js';
import { parseListeningServerBase } from '../server-config.js';
import { parseHosts, type RProxyHosts } from './hosts.js';

export interface HttpRProxyConfig extends ListeningServerConfig {
  escaper: string;
  hosts: RProxyHosts;
  serverId: string | undefined;
  forwarded: ForwardedMode;
  enableTlsServer: boolean;
  globalTlsServer: TlsServerConfig | undefined;
  clientHelloTimeoutMs: number;
  reqHeadTimeoutMs: number;
  rspHeadTimeoutMs: number;
  reqHeadMaxBytes: number;
  rspHeadMaxBytes: number;
  logUriMaxChars: number;
  keepAliveIdleMs: number;
  upstreamKeepAlive: { enable: boolean; idleMs: number };
  /** longest chunk-size or trailer line in a chunked body (request and response) */
  bodyLineMaxLength: number;
  /** per client connection (upload = client reads, download = client writes); undefined: unlimited */
  speedLimit: TcpSpeedLimit | undefined;
  pipelineSize: number;
  noEarlyErrorReply: boolean;
  /** basic auth of the gateway's clients (`Authorization`, 401) */
  auth: ServerAuthConfig;
  untrustedReadLimit: TcpSpeedLimit | undefined;
  /** rolling session ticket keys for the TLS this server terminates */
  tlsTicketer: TlsTicketerConfig | undefined;
}

export function parseHttpRProxyConfig(v: Record<string, unknown>, ctx: ParseContext): HttpRProxyConfig {
  const at = <T>(key: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ValueError) ctx.fail([key, ...e.path], e.message);
      throw e;
    }
  };
  const ka = v.http_forward_upstream_keepalive === undefined ? { enabled: true, idleExpireMs: 60_000 } : parseHttpKeepalive(v.http_forward_upstream_keepalive);
  const enableTlsServer = v.enable_tls_server === true;
  const globalTlsServer = v.global_tls_server === undefined ? undefined : at('global_tls_server', () => parseTlsServer(v.global_tls_server, ctx.baseDir));
  const hosts = at('hosts', () => parseHosts(v.hosts, ctx.baseDir));
  return Object.freeze({
    ...parseListeningServerBase(v, ctx, 'http_rproxy'),
    taskLogEvents: parseTaskLogEvents(v, ctx),
    escaper: v.escaper as string,
    hosts,
    serverId: v.server_id === undefined ? undefined : at('server_id', () => parseServerId(v.server_id)),
    forwarded: at('append_forwarded_for', () => parseForwardedMode(v.append_forwarded_for)),
    enableTlsServer,
    globalTlsServer,
    clientHelloTimeoutMs: v.client_hello_recv_timeout === undefined ? 1000 : parseDuration(v.client_hello_recv_timeout),
    reqHeadTimeoutMs: v.req_header_recv_timeout === undefined ? 30_000 : parseDuration(v.req_header_recv_timeout),
    rspHeadTimeoutMs: v.rsp_header_recv_timeout === undefined ? 60_000 : parseDuration(v.rsp_header_recv_timeout),
    reqHeadMaxBytes: v.req_header_max_size === undefined ? 65536 : parseSize(v.req_header_max_size),
    rspHeadMaxBytes: v.rsp_header_max_size === undefined ? 65536 : parseSize(v.rsp_header_max_size),
    logUriMaxChars: (v.log_uri_max_chars as number | undefined) ?? 1024,
    keepAliveIdleMs: v.pipeline_read_idle_timeout === undefined ? 300_000 : parseDuration(v.pipeline_read_idle_timeout),
    upstreamKeepAlive: { enable: ka.enabled, idleMs: ka.idleExpireMs },
    bodyLineMaxLength: (v.body_line_max_length as number | undefined) ?? 8192,
    speedLimit: at('tcp_sock_speed_limit', () => speedLimitOf(v.tcp_sock_speed_limit)),
    pipelineSize: (v.pipeline_size as number | undefined) ?? 10,
    noEarlyErrorReply: v.no_early_error_reply === true,
    auth: parseServerAuth(v),
    tlsTicketer: v.tls_ticketer === undefined ? undefined : at('tls_ticketer', () => parseTlsTicketer(v.tls_ticketer, ctx.baseDir)),
    untrustedReadLimit: v.untrusted_read_speed_limit === undefined ? undefined : at('untrusted_read_speed_limit', () => parseTcpSpeedLimit(v.untrusted_read_speed_limit)),
  });
}

function speedLimitOf(v: unknown): TcpSpeedLimit | undefined {
  if (v === undefined) return undefined;
  const l = parseTcpSpeedLimit(v);
  return l.enabled && (l.maxUpload > 0 || l.maxDownload > 0) ? l : undefined;
}
