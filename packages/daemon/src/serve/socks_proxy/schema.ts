import { serverAuditorField } from '../../audit/server-field.js';
import { bool, commonServerFields, g3, int, objectSchema, str } from '../../runtime/schema-util.js';
import { serverAuthFields } from '../../auth/server-auth-config.js';
import { taskLogEventFields } from '../../task/task-events.js';
import { listeningServerAliases, listeningServerFields } from '../server-config.js';

export const TYPE_NAMES = ['socks_proxy', 'socksproxy'] as const;

/** The keys of g3's socks_proxy server. `user_group` and `username_params` come with user authentication. */
export const socksProxySchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...listeningServerFields,
  task_idle_max_count: int('A task with no traffic for this many idle checks in a row is closed as Idle (default 1, as g3proxy\'s socks_proxy).', { minimum: 1 }),
  escaper: str('Escaper every task of this server goes to (required).'),
  auditor: serverAuditorField,
  user_group: serverAuthFields.user_group!,
  username_params: serverAuthFields.username_params!,
  use_udp_associate: bool('Serve UDP ASSOCIATE as RFC 1928 describes it (a destination per datagram). When false (the default) the first datagram fixes the destination and the relay is connected to it, as g3proxy\'s "udp connect". A user\'s `socks_use_udp_associate: true` turns it on for that user.'),
  negotiation_timeout: g3('duration', 'Time allowed from accept until the SOCKS request has been read, authentication included (default 4s).'),
  udp_client_initial_timeout: g3('duration', 'Time allowed for the first UDP datagram from the client after a UDP ASSOCIATE reply (default 30s).'),
  udp_bind_ipv4: g3('ip_list', 'IPv4 address(es) to bind the client-facing UDP socket to; one is picked at random. Default: the address the TCP connection came in on.'),
  udp_bind_ipv6: g3('ip_list', 'IPv6 address(es) to bind the client-facing UDP socket to; one is picked at random. Default: the address the TCP connection came in on.'),
  udp_bind_port_range: g3('port_range', 'Port range for client-facing UDP sockets (`"start-end"` or {start, end}); default: any free port.'),
  udp_socket_buffer: g3('socket_buffer', 'Receive/send buffer sizes of the client-facing UDP sockets.'),
  transmute_udp_echo_ip: {
    description: 'Address written in the UDP ASSOCIATE reply instead of the UDP socket\'s own: `true` answers the unspecified address (the client keeps using the proxy\'s address), a map {local ip: advertised ip} answers the mapped address (unspecified for an unmapped one).',
    anyOf: [{ type: 'boolean' }, { type: 'object', additionalProperties: { type: 'string' } }],
  },
  dst_host_filter_set: g3('host_filter_set', 'Which destination hosts may be reached (exact, child, regex, subnet rules). Not applied to UDP ASSOCIATE datagrams, as in g3proxy.'),
  dst_port_filter: g3('port_acl', 'Which destination ports may be reached (TCP connect and UDP).'),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per-connection speed limit of TCP connect tunnels (client side).'),
  udp_sock_speed_limit: g3('udp_speed_limit', 'Per-task speed limit of UDP relays (client side); datagrams over the slice budget are dropped.'),
  tcp_copy_buffer_size: g3('size', 'TCP relay buffer size (default 16KiB, min 4KiB); Node\'s stream buffers are sized by the runtime, so this only bounds the data held before a tunnel is ready.'),
  tcp_copy_yield_size: g3('size', 'Bytes relayed before yielding to other tasks (default 1MiB; the event loop yields per chunk).'),
  udp_relay_packet_size: g3('size', 'Largest UDP datagram relayed, SOCKS header included (default 4KiB, max 16KiB); larger ones are dropped.'),
  udp_relay_yield_size: g3('size', 'Bytes relayed before yielding (accepted; the event loop yields per datagram).'),
  udp_relay_batch_size: int('Datagrams handled per batch (accepted; default 8; Node delivers one datagram per event).', { minimum: 1 }),
  tcp_misc_opts: g3('tcp_misc_opts', 'Socket options of client TCP connections (no_delay is on by default).'),
  udp_misc_opts: g3('udp_misc_opts', 'Socket options of client-facing UDP sockets (time_to_live / hop_limit are applied).'),
  ...taskLogEventFields,
}, {
  required: ['escaper'],
  aliases: {
    ...listeningServerAliases,
    enable_udp_associate: 'use_udp_associate',
    udp_associate_enabled: 'use_udp_associate',
    auto_reply_local_ip_map: 'transmute_udp_echo_ip',
    tcp_conn_speed_limit: 'tcp_sock_speed_limit',
    tcp_conn_limit: 'tcp_sock_speed_limit',
    conn_limit: 'tcp_sock_speed_limit',
    udp_relay_speed_limit: 'udp_sock_speed_limit',
    udp_relay_limit: 'udp_sock_speed_limit',
    relay_limit: 'udp_sock_speed_limit',
    task_idle_check_duration: 'task_idle_check_interval',
  },
});
