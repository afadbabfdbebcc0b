import {
  parseDuration, parseHost, parseHostFilterSet, parseHttpKeepalive, parsePortAcl, parseSize, parseTcpSpeedLimit,
  type HostFilterSet, type PortAcl, type TcpSpeedLimit,
} from '@sluice/common';
import { parseServerAuth, type ServerAuthConfig } from '../../auth/server-auth-config.js';
import type { ParseContext } from '../../runtime/object-def.js';
import { parseTlsClient, parseTlsServer, type TlsClientConfig, type TlsServerConfig } from '../../tls/tls-config.js';
import { parseTlsTicketer, type TlsTicketerConfig } from '../../tls/ticketer-config.js';
import type { ListeningServerConfig } from '../base-server.js';
import { parseTaskLogEvents } from '../../task/task-events.js';
import { parseListeningServerBase } from '../server-config.js';

export interface HttpProxyConfig extends ListeningServerConfig {
  escaper: string;
  /** the server's auditor; undefined = tunnels are not audited (unless a comply_audit escaper names one) */
  auditor: string | undefined;
  auth: ServerAuthConfig;
  dstHosts: HostFilterSet | undefined;
  dstPorts: PortAcl | undefined;
  reqHeadTimeoutMs: number;
  rspHeadTimeoutMs: number;
  reqHeadMaxBytes: number;
  rspHeadMaxBytes: number;
  logUriMaxChars: number;
  pipelineSize: number;
  keepAliveIdleMs: number;
  upstreamKeepAlive: { enable: boolean; idleMs: number };
  dropDefaultPort: boolean;
  allowCustomHost: boolean;
  tlsServer: TlsServerConfig | undefined;
  /** rolling session ticket keys for tls_server */
  tlsTicketer: TlsTicketerConfig | undefined;
  tlsClient: TlsClientConfig;
  /** lower-cased names whose Host marks a request to the proxy itself (well-known URIs) */
  localServerNames: readonly string[];
  serverId: string | undefined;
  markUpstream: boolean;
  echoChainedInfo: boolean;
  stealForwardedFor: boolean;
  /** lower-case name of the egress path selection header, if any */
  egressPathHeader: string | undefined;
  noEarlyErrorReply: boolean;
  /** longest chunk-size or trailer line in a chunked body (request and response) */
  bodyLineMaxLength: number;
  /** untrusted_read_speed_limit: set = drain the body of a request refused for missing credentials (upload limit, 0 = unlimited) */
  untrustedReadLimit: TcpSpeedLimit | undefined;
  /** per client connection, both directions; undefined: unlimited */
  speedLimit: TcpSpeedLimit | undefined;
  maxClientConnections: number;
  upstreamPoolMaxIdle: number;
}

/** g3's http server id: a token usable as a header value. */
function parseServerId(v: unknown, ctx: ParseContext): string {
  const s = String(v);
  if (!/^[\x21-\x7e]{1,128}$/.test(s)) ctx.fail(['server_id'], 'server_id must be 1-128 visible ASCII characters');
  return s;
}

export function parseHttpProxyConfig(v: Record<string, unknown>, ctx: ParseContext): HttpProxyConfig {
  const ka = v.http_forward_upstream_keepalive === undefined ? { enabled: true, idleExpireMs: 60_000 } : parseHttpKeepalive(v.http_forward_upstream_keepalive);
  return Object.freeze({
    ...parseListeningServerBase(v, ctx, 'http_proxy'),
    taskLogEvents: parseTaskLogEvents(v, ctx),
    escaper: v.escaper as string,
    auditor: v.auditor as string | undefined,
    auth: parseServerAuth(v),
    dstHosts: v.dst_host_filter_set === undefined ? undefined : parseHostFilterSet(v.dst_host_filter_set),
    dstPorts: v.dst_port_filter === undefined ? undefined : parsePortAcl(v.dst_port_filter),
    reqHeadTimeoutMs: v.req_header_recv_timeout === undefined ? 30_000 : parseDuration(v.req_header_recv_timeout),
    rspHeadTimeoutMs: v.rsp_header_recv_timeout === undefined ? 60_000 : parseDuration(v.rsp_header_recv_timeout),
    reqHeadMaxBytes: v.req_header_max_size === undefined ? 65536 : parseSize(v.req_header_max_size),
    rspHeadMaxBytes: v.rsp_header_max_size === undefined ? 65536 : parseSize(v.rsp_header_max_size),
    logUriMaxChars: (v.log_uri_max_chars as number | undefined) ?? 1024,
    pipelineSize: (v.pipeline_size as number | undefined) ?? 10,
    keepAliveIdleMs: v.pipeline_read_idle_timeout === undefined ? 300_000 : parseDuration(v.pipeline_read_idle_timeout),
    upstreamKeepAlive: { enable: ka.enabled, idleMs: ka.idleExpireMs },
    dropDefaultPort: v.drop_default_port_in_host === true,
    allowCustomHost: v.allow_custom_host !== false,
    tlsServer: v.tls_server === undefined ? undefined : parseTlsServer(v.tls_server, ctx.baseDir),
    tlsTicketer: v.tls_ticketer === undefined ? undefined : parseTlsTicketer(v.tls_ticketer, ctx.baseDir),
    tlsClient: parseTlsClient(v.tls_client ?? {}, ctx.baseDir),
    localServerNames: (v.local_server_name === undefined ? [] : Array.isArray(v.local_server_name) ? v.local_server_name : [v.local_server_name])
      .map((h) => parseHost(h).host.toLowerCase()),
    serverId: v.server_id === undefined ? undefined : parseServerId(v.server_id, ctx),
    markUpstream: v.http_forward_mark_upstream === true,
    echoChainedInfo: v.echo_chained_info === true,
    stealForwardedFor: v.steal_forwarded_for === true,
    egressPathHeader: typeof v.egress_path_selection_header === 'string' ? v.egress_path_selection_header.toLowerCase() : undefined,
    noEarlyErrorReply: v.no_early_error_reply === true,
    bodyLineMaxLength: (v.body_line_max_length as number | undefined) ?? 8192,
    speedLimit: speedLimitOf(v.tcp_sock_speed_limit),
    untrustedReadLimit: v.untrusted_read_speed_limit === undefined ? undefined : parseTcpSpeedLimit(v.untrusted_read_speed_limit),
    maxClientConnections: (v.max_client_connections as number | undefined) ?? 16384,
    upstreamPoolMaxIdle: (v.http_forward_upstream_pool_size as number | undefined) ?? 256,
  });
}

function speedLimitOf(v: unknown): TcpSpeedLimit | undefined {
  if (v === undefined) return undefined;
  const l = parseTcpSpeedLimit(v);
  return l.enabled && (l.maxUpload > 0 || l.maxDownload > 0) ? l : undefined;
}
