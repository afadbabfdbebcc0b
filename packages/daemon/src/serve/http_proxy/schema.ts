import { bool, commonServerFields, g3, int, objectSchema, str } from '../../runtime/schema-util.js';
import { serverAuthFields } from '../../auth/server-auth-config.js';
import { serverAuditorField } from '../../audit/server-field.js';
import { tlsField } from '../../tls/tls-config.js';
import { tlsTicketerField } from '../../tls/ticketer-config.js';
import { taskLogEventFields } from '../../task/task-events.js';
import { listeningServerAliases, listeningServerFields } from '../server-config.js';

export const TYPE_NAMES = ['http_proxy', 'httpproxy'] as const;

export const httpProxySchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...listeningServerFields,
  ...taskLogEventFields,
  ...serverAuthFields,
  escaper: str('Escaper every task of this server goes to (required).'),
  auditor: serverAuditorField,
  dst_host_filter_set: g3('host_filter_set', 'Which destination hosts may be reached (exact, child, regex, subnet rules).'),
  dst_port_filter: g3('port_acl', 'Which destination ports may be reached.'),
  req_header_recv_timeout: g3('duration', 'Time allowed to receive a request head (default 30s).'),
  rsp_header_recv_timeout: g3('duration', 'Time allowed for the upstream to send the response head (default 60s).'),
  req_header_max_size: g3('size', 'Largest request head accepted (default 64KiB); larger gets 431.'),
  rsp_header_max_size: g3('size', 'Largest response head accepted from upstream (default 64KiB).'),
  log_uri_max_chars: int('URIs are truncated to this many characters in task logs (default 1024).', { minimum: 0 }),
  pipeline_size: int('Requests a client may send ahead on one connection (default 10).', { minimum: 1 }),
  pipeline_read_idle_timeout: g3('duration', 'How long an idle keep-alive client connection is kept (default 5min).'),
  http_forward_upstream_keepalive: g3('http_keepalive', 'Keep upstream connections of forwarded requests alive for reuse (default enabled, 60s).'),
  drop_default_port_in_host: bool('Write the Host header without the scheme\'s default port (default false).'),
  allow_custom_host: bool('Accept a Host header that differs from the URI authority (the URI authority is always what is sent; default true).'),
  tls_server: tlsField('Serve the proxy over TLS (an HTTPS proxy): certificate + private_key, enable_client_auth + ca_certificate for mTLS.'),
  tls_ticketer: tlsTicketerField,
  tls_client: tlsField('TLS client settings for https forward requests (client sends an `https://` URI, the proxy does TLS to the origin).'),
  local_server_name: { description: 'Host name(s) of the proxy itself: a request whose Host is one of them (or any origin-form request when unset) is a local request, used for well-known URIs (`/.well-known/easy-proxy/...`, `/.well-known/masque/http/...`).', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
  server_id: str('Server id; when set, forwarded responses and CONNECT replies carry `X-BD-Remote-Connection-Info: <server_id>[; bind=ip][; local=addr][; remote=addr]`.'),
  http_forward_mark_upstream: bool('Add `X-BD-Upstream-Id: <server_id>` to responses that came from upstream (unless a proxy further on already set it; default false).'),
  echo_chained_info: bool('Add `X-BD-Upstream-Addr` and `X-BD-Outgoing-IP` about the upstream connection to responses (unless already set further on; default false).'),
  egress_path_selection_header: str('Request header whose number picks the egress path of this request (a bind_ip index of direct_fixed, a next escaper of route_mapping...); removed before forwarding. A value that is not a number gets 400.'),
  steal_forwarded_for: bool('Remove `Forwarded` and `X-Forwarded-For` from forwarded requests (default false).'),
  no_early_error_reply: bool('Close without an error response when a connection\'s first request cannot be parsed or arrives too late (port hiding; default false).'),
  body_line_max_length: int('Longest line in a chunked body, chunk-size line (with extensions) or trailer line, from the client or the upstream (default 8192); longer fails the request with 400 (client) or 502 (upstream).', { minimum: 1 }),
  untrusted_read_speed_limit: g3('tcp_speed_limit', 'Enable untrusted read: a request refused with 407 because it carried no credentials is answered at once and, if it has a body, the body is read and dropped at this upload rate (0 = unlimited) so the connection can be kept (for clients that send the whole body before reading the 407). Unset: such a connection is closed after the 407.'),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per client connection speed limit (upload = client to upstream, download = upstream to client); reading pauses when over the limit.'),
  max_client_connections: int('sluice: most client connections this server holds at once; more get 503 and are closed (default 16384).', { minimum: 1 }),
  http_forward_upstream_pool_size: int('sluice: most idle kept-alive upstream connections pooled by this server for reuse across clients (default 256, 0 keeps them per client connection only).', { minimum: 0 }),
}, { required: ['escaper'], aliases: { ...listeningServerAliases, tls: 'tls_server', path_selection_header: 'egress_path_selection_header', untrusted_read_limit: 'untrusted_read_speed_limit' } });
