import { bool, commonServerFields, g3, int, objectSchema, str } from '../../runtime/schema-util.js';
import { serverAuthFields } from '../../auth/server-auth-config.js';
import { listeningServerAliases, listeningServerFields } from '../server-config.js';

export const TYPE_NAMES = ['http_proxy', 'httpproxy'] as const;

export const httpProxySchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...listeningServerFields,
  ...serverAuthFields,
  escaper: str('Escaper every task of this server goes to (required).'),
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
}, { required: ['escaper'], aliases: { ...listeningServerAliases } });
