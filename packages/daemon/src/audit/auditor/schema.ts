/** The auditor's schema: g3's keys (auditors have no `type:`), each checked in depth by config.ts. */
import { g3, int, objectSchema, type FieldSchema } from '../../runtime/schema-util.js';
import { tlsTicketerField } from '../../tls/ticketer-config.js';
import { H2_INTERCEPTION_FIELD } from '../h2/index.js';
import { TLS_INTERCEPTION_ALIASES, TLS_INTERCEPTION_FIELDS } from '../tls/index.js';

const map = (description: string): FieldSchema => ({ description, anyOf: [{ type: 'object' }, { type: 'null' }] });
const policy = (what: string): FieldSchema => ({
  description: `What to do with ${what}: \`intercept\` (default), \`bypass\` (relay as is), \`block\` (close), \`detour\` (no stream detour service in sluice: acts as bypass); ` +
    'or a map with `default` and `exact_match` / `child_match` / `subnet_match` rules, each a map from an action to hosts, parent domains or networks.',
  anyOf: [{ type: 'string' }, { type: 'object' }],
});
const unsupported = (what: string): FieldSchema => ({
  description: `${what} Not implemented in sluice: any value other than an empty one fails the config check.`,
  anyOf: [{ type: 'object' }, { type: 'string' }, { type: 'null' }],
});

export const AUDITOR_FIELDS: Record<string, FieldSchema> = {
  protocol_inspection: map('Protocol inspection: `inspect_max_depth` (4), `data0_buffer_size` (4096), `data0_wait_timeout` (60s: a stream where neither side sends is closed as Idle), ' +
    '`data0_read_timeout` (4s: data arrived but not enough to tell the protocol: the protocol is `_timeout`), `data0_size_limit` ' +
    '(`ftp_greeting_msg` 512, `http_request_uri` 4096, `imap_greeting_msg` 512, `nats_info_line` 1024, `ldap_request_msg` 1024).'),
  server_tcp_portmap: { description: 'Protocols suggested by the server port, added to g3\'s default map (21 ftp, 22 ssh, 25 smtp, 80 http, 443 https, ...): a list of `{port, protocol}` or a map port → protocol or list. Names: http, https, smtp, ssh, ftp, pop3, pop3s, nntp, nntps, imap, imaps, nats, bittorrent, dns, ldap, mqtt, rtsp, smpp, rtmp, stomp, ssl...', anyOf: [{ type: 'object' }, { type: 'array' }, { type: 'null' }] },
  client_tcp_portmap: { description: 'Protocols suggested by the client port (same syntax; g3 keeps it for future use, so does sluice).', anyOf: [{ type: 'object' }, { type: 'array' }, { type: 'null' }] },
  ...TLS_INTERCEPTION_FIELDS,
  tls_ticketer: tlsTicketerField,
  tls_stream_dump: { description: 'Send the cleartext of intercepted TLS streams to a Wireshark udpdump listener as exported PDUs: a peer address, or `{peer (default 127.0.0.1:5555), socket_buffer, misc_opts, packet_size (1480), client_side (false)}`.', anyOf: [{ type: 'object' }, { type: 'string' }, { type: 'null' }] },
  log_uri_max_chars: int("URIs in Intercept records are cut to this many characters (default 1024); a task user's own log_uri_max_chars wins, as in g3.", { minimum: 0 }),
  h1_interception: map('HTTP/1.x interception: `pipeline_size` (10; sluice forwards one request at a time and reads no request ahead of its response, so any value behaves as 1), `pipeline_read_idle_timeout` (5min), `req_header_recv_timeout` (30s), `rsp_header_recv_timeout` (60s), ' +
    '`req_header_max_size` (64KiB), `rsp_header_max_size` (64KiB), `body_line_max_length` (8192), `steal_forwarded_for` (false: remove Forwarded and X-Forwarded-For).'),
  h2_inspect_policy: policy('HTTP/2 (prior knowledge) streams'),
  h2_interception: H2_INTERCEPTION_FIELD,
  websocket_inspect_policy: policy('WebSocket upgrades inside intercepted HTTP/1'),
  smtp_inspect_policy: policy('SMTP streams (sluice relays them: only `block` and `bypass` may be set)'),
  smtp_interception: unsupported('SMTP interception options.'),
  imap_inspect_policy: policy('IMAP streams (sluice relays them: only `block` and `bypass` may be set)'),
  imap_interception: unsupported('IMAP interception options.'),
  icap_reqmod_service: unsupported('ICAP REQMOD service.'),
  icap_respmod_service: unsupported('ICAP RESPMOD service.'),
  stream_detour_service: unsupported('Stream detour service.'),
  task_audit_ratio: g3('random_ratio', 'Share of tasks that are audited (protocol inspection), default 1.0; a user\'s `audit.task_audit_ratio` replaces it. Alias application_audit_ratio.'),
};

export const AUDITOR_ALIASES: Record<string, string> = {
  ...TLS_INTERCEPTION_ALIASES,
  application_audit_ratio: 'task_audit_ratio',
};

export const auditorSchema = objectSchema(['auditor'], AUDITOR_FIELDS, { typeOptional: true, aliases: AUDITOR_ALIASES });
