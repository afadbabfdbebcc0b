import { parseDuration, parseHostFilterSet, parseHttpKeepalive, parsePortAcl, parseSize, type HostFilterSet, type PortAcl } from '@sluice/common';
import { parseServerAuth, type ServerAuthConfig } from '../../auth/server-auth-config.js';
import type { ParseContext } from '../../runtime/object-def.js';
import type { ListeningServerConfig } from '../base-server.js';
import { parseListeningServerBase } from '../server-config.js';

export interface HttpProxyConfig extends ListeningServerConfig {
  escaper: string;
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
}

export function parseHttpProxyConfig(v: Record<string, unknown>, ctx: ParseContext): HttpProxyConfig {
  const ka = v.http_forward_upstream_keepalive === undefined ? { enabled: true, idleExpireMs: 60_000 } : parseHttpKeepalive(v.http_forward_upstream_keepalive);
  return Object.freeze({
    ...parseListeningServerBase(v, ctx, 'http_proxy'),
    escaper: v.escaper as string,
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
  });
}
