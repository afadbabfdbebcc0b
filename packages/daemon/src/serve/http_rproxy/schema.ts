import { tlsField } from '../../tls/tls-config.js';
import { tlsTicketerField } from '../../tls/ticketer-config.js';
import { bool, commonServerFields, g3, int, objectSchema, str, type FieldSchema } from '../../runtime/schema-util.js';
import { taskLogEventFields } from '../../task/task-events.js';
import { listeningServerAliases, listeningServerFields } from '../server-config.js';

export const TYPE_NAMES = ['http_rproxy', 'http_reverse_proxy', 'http_gateway'] as const;

const hostsField: FieldSchema = {
  description: 'Sites by Host: a map or a list of maps, each with `exact_match` (hosts/IPs), `child_match` (parent domains), '
    + '`set_default`, and the site keys `upstream` (port 80 by default, required), `tls_server` (certificate for this '
    + 'host\'s SNI), `tls_client` (TLS to the upstream; `{}` for defaults) and `tls_name` (upstream SNI/verify name). '
    + 'An entry without match keys is the default site. Required.',
  anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }],
};

export const httpRProxySchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...listeningServerFields,
  ...taskLogEventFields,
  escaper: str('Escaper every upstream connection goes through (required).'),
  hosts: hostsField,
  server_id: str('Server id: names this gateway in the Via header it adds and in X-BD-Remote-Connection-Info on responses (printable ASCII, no `;` or `,`).'),
  append_forwarded_for: { description: 'Header telling the origin who the client is: `classic` (X-Forwarded-For, default), `standard` (RFC 7239 Forwarded with for and by), `none`; true = classic, false = none.', anyOf: [{ type: 'string' }, { type: 'boolean' }] },
  enable_tls_server: bool('Terminate TLS on this port: the certificate is chosen by SNI from the matched site\'s `tls_server`, else `global_tls_server`; a connection with neither is dropped (default false).'),
  tls_ticketer: tlsTicketerField,
  global_tls_server: tlsField('TLS server config used for sites without their own `tls_server`.'),
  client_hello_recv_timeout: g3('duration', 'Time allowed to receive the TLS ClientHello (default 1s).'),
  req_header_recv_timeout: g3('duration', 'Time allowed to receive a request head (default 30s).'),
  rsp_header_recv_timeout: g3('duration', 'Time allowed for the upstream to send the response head (default 60s).'),
  req_header_max_size: g3('size', 'Largest request head accepted (default 64KiB); larger gets 431.'),
  rsp_header_max_size: g3('size', 'Largest response head accepted from upstream (default 64KiB).'),
  log_uri_max_chars: int('URIs are truncated to this many characters in task logs (default 1024).', { minimum: 0 }),
  pipeline_read_idle_timeout: g3('duration', 'How long an idle keep-alive client connection is kept (default 5min).'),
  body_line_max_length: int('Longest line in a chunked body, chunk-size line (with extensions) or trailer line, from the client or the upstream (default 8192); longer fails the request with 400 (client) or 502 (upstream).', { minimum: 1 }),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per client connection speed limit (upload = client to upstream, download = upstream to client).'),
  pipeline_size: int('Requests a client may send ahead on one connection before reading from it pauses (default 10).', { minimum: 1 }),
  no_early_error_reply: bool('Close without a response when a request is refused for its credentials or names no configured site, and when a connection\'s first request cannot be parsed or arrives too late (default false).'),
  user_group: str('User group clients authenticate against with `Authorization: Basic` (answered 401 with `WWW-Authenticate`; the header is not forwarded); unset = no authentication.'),
  auth_realm: str('Realm sent in `WWW-Authenticate: Basic realm="..."` (default `proxy`).'),
  untrusted_read_speed_limit: g3('tcp_speed_limit', 'Enable untrusted read: a request refused with 401 because it carried no credentials is answered at once and, if it has a body, the body is read and dropped at this upload rate (0 = unlimited) so the connection can be kept. Unset: such a connection is closed after the 401.'),
  http_forward_upstream_keepalive: g3('http_keepalive', 'Keep upstream connections alive for the next request of the same client connection (default enabled, 60s).'),
}, { required: ['escaper', 'hosts'], aliases: { ...listeningServerAliases, sites: 'hosts', uri_log_max_chars: 'log_uri_max_chars', untrusted_read_limit: 'untrusted_read_speed_limit' } });
