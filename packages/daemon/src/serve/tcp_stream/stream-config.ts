/**
 * Keys and parsing shared by the stream servers (tcp_stream, tls_stream, sni_proxy): escaper, facts
 * authentication, the client-side speed limit and socket options; and, for tcp_stream / tls_stream, the
 * fixed upstream list with its pick policy and optional TLS to the upstream.
 */
import { serverAuditorField } from '../../audit/server-field.js';
import {
  parsePickPolicy, parseSize, parseTcpMiscOpts, parseTcpSpeedLimit, parseWeightedUpstream, ValueError,
  type TcpSpeedLimit, type UpstreamAddr,
} from '@sluice/common';
import { Picker } from '../../escape/pick/index.js';
import type { ParseContext } from '../../runtime/object-def.js';
import { bool, g3, str, type FieldSchema } from '../../runtime/schema-util.js';
import { parseTaskLogEvents, taskLogEventFields } from '../../task/task-events.js';
import { parseTlsClient, tlsField, type TlsClientConfig } from '../../tls/tls-config.js';
import type { ListeningServerConfig } from '../base-server.js';
import { listeningServerAliases, listeningServerFields, parseListeningServerBase } from '../server-config.js';

/** Who a stream task's user is, found by the facts of the connection (the client sends no credentials). */
export interface StreamAuthConfig {
  /** '' = no authentication */
  readonly userGroup: string;
  readonly byClientIp: boolean;
  /** sni_proxy only: the requested server name (after allowed_hosts redirection) */
  readonly byServerName: boolean;
}

export interface StreamServerConfig extends ListeningServerConfig {
  escaper: string;
  auditor: string | undefined;
  auth: StreamAuthConfig;
  /** client-side per-connection limit; null = none */
  tcpSpeedLimit: TcpSpeedLimit | null;
  tcpNoDelay: boolean;
  /** bytes a client may send before its upstream is connected (from tcp_copy_buffer_size) */
  earlyDataMax: number;
}

export interface StreamUpstreamConfig {
  upstreams: Picker<UpstreamAddr>;
  /** TLS to the upstream; undefined = plain TCP */
  tlsClient: TlsClientConfig | undefined;
  /** SNI and verification name for the upstream; undefined = the picked upstream's host */
  upstreamTlsName: string | undefined;
}

/** Keys every stream server has. */
export const streamServerFields: Record<string, FieldSchema> = {
  ...listeningServerFields,
  escaper: str('Escaper every upstream connection goes through (required).'),
  auditor: serverAuditorField,
  user_group: str('A `facts` user group: the task\'s user is the one whose `match_by_facts` matches (see `auth_by_client_ip`); a task with no matching user is refused (ClientAuthFailed).'),
  auth_by_client_ip: bool('Find the user of `user_group` by the client IP address (default false).'),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per-connection speed limit on the client side.'),
  tcp_copy_buffer_size: g3('size', 'Relay buffer size (default 16KiB, min 4KiB); bounds what a client may send before the upstream is connected.'),
  tcp_copy_yield_size: g3('size', 'Bytes relayed before yielding (accepted; the event loop yields per chunk).'),
  tcp_misc_opts: g3('tcp_misc_opts', 'Socket options of client connections (no_delay is on by default).'),
  ...taskLogEventFields,
};

export const streamServerAliases: Record<string, string> = {
  ...listeningServerAliases,
  task_idle_check_duration: 'task_idle_check_interval',
  tcp_conn_speed_limit: 'tcp_sock_speed_limit',
  tcp_conn_limit: 'tcp_sock_speed_limit',
  conn_limit: 'tcp_sock_speed_limit',
};

/** Keys of the servers that map to fixed upstreams (tcp_stream, tls_stream). */
export const streamUpstreamFields: Record<string, FieldSchema> = {
  upstream: g3('upstream_list', 'Upstream address(es): a `host:port` string, or a list of them or of `{addr, weight}` maps. The port is required (required).'),
  upstream_pick_policy: g3('pick_policy', 'How an upstream is picked from the list: random (default), serial, round_robin, ketama, rendezvous, jump_hash; the hash key is the client IP.'),
  tls_client: tlsField('TLS to the upstream: `true` for defaults, or a TLS client map (ca_certificate, certificate/private_key, handshake_timeout, ...). Default: plain TCP.'),
  upstream_tls_name: str('Name the upstream\'s certificate is verified against and sent as SNI (default: the upstream\'s host).'),
};

export const streamUpstreamAliases: Record<string, string> = { proxy_pass: 'upstream' };

export function parseStreamServer(v: Record<string, unknown>, ctx: ParseContext, type: string): StreamServerConfig {
  const base = parseListeningServerBase(v, ctx, type);
  const limit = v.tcp_sock_speed_limit === undefined ? null : parseTcpSpeedLimit(v.tcp_sock_speed_limit);
  const tcpOpts = v.tcp_misc_opts === undefined ? {} : parseTcpMiscOpts(v.tcp_misc_opts);
  const userGroup = typeof v.user_group === 'string' ? v.user_group : '';
  const byClientIp = v.auth_by_client_ip === true;
  const byServerName = v.auth_by_server_name === true;
  if (byClientIp && byServerName) ctx.fail(['auth_by_server_name'], 'only one of auth_by_client_ip and auth_by_server_name can be enabled');
  if ((byClientIp || byServerName) && !userGroup) ctx.fail(['user_group'], 'user_group is not set but auth is enabled');
  return {
    ...base,
    escaper: v.escaper as string,
    auditor: v.auditor as string | undefined,
    auth: Object.freeze({ userGroup, byClientIp, byServerName }),
    tcpSpeedLimit: limit?.enabled ? limit : null,
    tcpNoDelay: tcpOpts.noDelay ?? true,
    taskLogEvents: parseTaskLogEvents(v, ctx),
    earlyDataMax: v.tcp_copy_buffer_size === undefined ? 16384 : Math.max(4096, parseSize(v.tcp_copy_buffer_size)),
  };
}

export function parseStreamUpstream(v: Record<string, unknown>, ctx: ParseContext): StreamUpstreamConfig {
  if (v.upstream === undefined) ctx.fail(['upstream'], 'upstream is not set');
  const list = (Array.isArray(v.upstream) ? v.upstream : [v.upstream]).map((item, i) => {
    try {
      const w = parseWeightedUpstream(item, 0);
      if (w.addr.port === 0) throw new ValueError('the port is required (host:port)');
      return { item: w.addr, weight: w.weight };
    } catch (e) {
      return ctx.fail(Array.isArray(v.upstream) ? ['upstream', String(i)] : ['upstream'], (e as Error).message);
    }
  });
  if (list.length === 0) ctx.fail(['upstream'], 'upstream is empty');
  let tlsClient: TlsClientConfig | undefined;
  if (v.tls_client !== undefined && v.tls_client !== false) {
    try {
      tlsClient = parseTlsClient(v.tls_client, ctx.baseDir);
    } catch (e) {
      const path = (e as ValueError).path ?? [];
      ctx.fail(['tls_client', ...path], (e as Error).message);
    }
  }
  return {
    upstreams: new Picker(list, parsePickPolicy(v.upstream_pick_policy)),
    tlsClient,
    upstreamTlsName: typeof v.upstream_tls_name === 'string' && v.upstream_tls_name !== '' ? v.upstream_tls_name : undefined,
  };
}
