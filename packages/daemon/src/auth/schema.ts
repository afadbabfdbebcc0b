/** JSON Schema shared by the user group types (basic, facts, ldap); user maps are checked by the user parser. */
import { g3, int, objectSchema, str, type FieldSchema } from '../runtime/schema-util.js';

const userList = (d: string): FieldSchema => ({ type: 'array', items: { type: 'object' }, description: d });
const userMap = (d: string): FieldSchema => ({ type: 'object', description: d });

const basicFields: Record<string, FieldSchema> = {
  static_users: userList(
    'Users defined in the config (dynamic users use the same keys). `name`; `token`: null (any password), missing (never logs in), ' +
      'a `$1$`/`$5$`/`$6$` crypt hash, `{type: xcrypt_hash, value}`, or `{salt, md5, sha1, blake3|b3}` (every digest of password‖salt must match); ' +
      '`expire` (RFC 3339); `block_and_delay` (duration: refuse after the delay); ' +
      'ACLs `ingress_network_filter`, `proxy_request_filter`, `dst_host_filter_set`, `dst_port_filter`, `http_user_agent_filter`; ' +
      'limits `tcp_sock_speed_limit` (alias tcp_conn_speed_limit, tcp_conn_limit), `udp_sock_speed_limit`, `tcp_all_upload_speed_limit`, `tcp_all_download_speed_limit`, ' +
      '`udp_all_upload_speed_limit`, `udp_all_download_speed_limit`, `connection_rate_limit` (alias tcp_conn_rate_limit, tcp_conn_limit_quota), ' +
      '`request_rate_limit` (alias request_limit_quota), `request_max_alive` (alias request_alive_max); `resolve_strategy`, `resolve_redirection`; ' +
      '`explicit_sites` (list of `{id, exact_match, child_match, subnet_match, emit_stats, resolve_strategy, http_rsp_header_recv_timeout}`, counted apart); ' +
      '`log_rate_limit`, `log_uri_max_chars`; `match_by_facts` (facts groups); per-user overrides `tcp_connect` (caps the direct escaper\'s), ' +
      '`tcp_remote_keepalive`, `tcp_remote_misc_opts`, `tcp_client_misc_opts`, `udp_client_misc_opts`, `udp_remote_misc_opts` (what Node can set: keepalive idle time, no_delay, UDP TTL; ' +
      'other options load with a warning and are not applied), `http_upstream_keepalive`, `http_rsp_header_recv_timeout`, ' +
      '`task_idle_max_count`, `socks_use_udp_associate`, `egress_path_id_map` (escaper name → string id, in place of the client\'s own choice); ' +
      '`audit` (`enable_protocol_inspection` false, `prohibit_unknown_protocol` false, `prohibit_timeout_protocol` true, `task_audit_ratio`: whether and how an auditor inspects this user\'s tasks); ' +
      'accepted for g3 compatibility: `egress_path_value_map`. ' +
      'Static users win over dynamic users of the same name. See doc/users.md.',
  ),
  anonymous_user: userMap('The user for requests without credentials or with an unknown user name (its token is ignored).'),
  source: {
    description:
      'Where dynamic users come from: `{type: file, path, format: json|yaml}` (or `file:///path?format=json`), or `{type: redis, url|host/port/db, key, channel}` ' +
      '(sluice: users in a Redis hash, changes announced on a channel and seen by every node within a second). A failed fetch keeps the current users.',
    anyOf: [{ type: 'string' }, { type: 'object' }],
  },
  cache: str('File the dynamic users are written to after each successful fetch or publish, and read at start (so users survive a restart while the source is down).'),
  refresh_interval: g3('duration', 'How often the source is fetched again (default 60s).'),
};

export const basicSchema = objectSchema(['basic'], basicFields, { typeOptional: true });
export const factsSchema = objectSchema(['facts'], basicFields);
export const ldapSchema = objectSchema(['ldap'], {
  ...basicFields,
  ldap_url: str('`ldap://host[:389]/<base_dn>` or `ldaps://host[:636]/<base_dn>`; users bind as `<username_attribute>=<user>,<base_dn>`.'),
  username_attribute: str('Attribute naming the user in its DN (default uid).'),
  tls_client: { description: 'TLS client settings (`ca_certificate`, `no_verify`, `tls_name`); with ldap:// this turns on STARTTLS.', anyOf: [{ type: 'object' }, { type: 'boolean' }] },
  tls_name: str('Name the LDAP server\'s certificate must carry (default: the host of ldap_url).'),
  unmanaged_user: userMap('Template for users the directory accepts but the config does not list (its token is ignored).'),
  max_message_size: int('Largest LDAP response accepted, in bytes (default 256).'),
  connect_timeout: g3('duration', 'Connect timeout (default 4s).'),
  response_timeout: g3('duration', 'Bind response timeout (default 2s).'),
  connection_pool: { type: 'object', description: 'Pool of bind connections: `max_count` (default 64), `max_idle_count` (default 8).' },
  pool: { type: 'object', description: 'Alias of connection_pool.' },
  queue_channel_size: int('Binds that may wait for a free connection (default 64).', { minimum: 1 }),
  queue_wait_timeout: g3('duration', 'How long a bind may wait for a connection (default 4s).'),
  cache_user_count: int('Successful binds remembered (default 128).', { minimum: 1 }),
  cache_expire_time: g3('duration', 'How long a successful bind is remembered (default 5m).'),
});
