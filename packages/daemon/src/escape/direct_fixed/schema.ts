import { bool, commonEscaperFields, g3, objectSchema, str } from '../../runtime/schema-util.js';

export const directFixedSchema = objectSchema(['direct_fixed'], {
  ...commonEscaperFields,
  resolver: str('Resolver used for domain upstreams (required by g3; a missing resolver denies every lookup).'),
  resolve_strategy: g3('resolve_strategy', 'Which address families to query and in what order (default Ipv4First).'),
  resolve_redirection: g3('resolve_redirection', 'Answer these domains with fixed addresses or another domain.'),
  bind_ip: g3('ip_list', 'Local address(es) to connect from; one is picked at random per connection and family.'),
  bind_interface: str('Network interface to bind to (accepted; Node cannot bind to a device, so it is ignored with a warning).'),
  egress_network_filter: g3('network_acl_egress', 'Which resolved addresses may be connected to. Loopback, link-local, unspecified and discard-only addresses are denied unless explicitly allowed.'),
  no_ipv4: bool('Never connect over IPv4.'),
  no_ipv6: bool('Never connect over IPv6.'),
  tcp_connect: g3('tcp_connect', 'Connect retries and per-attempt timeout ({max_retry: 2, each_timeout: 30s}).'),
  happy_eyeballs: g3('happy_eyeballs', 'RFC 8305 tuning: resolution_delay, second_resolution_timeout, first_address_family_count, connection_attempt_delay.'),
  tcp_keepalive: g3('tcp_keepalive', 'TCP keepalive on upstream sockets (default off).'),
  tcp_misc_opts: g3('tcp_misc_opts', 'Socket options for upstream TCP sockets (no_delay is always on).'),
  udp_misc_opts: g3('tcp_misc_opts', 'Socket options for upstream UDP sockets.'),
  tcp_sock_speed_limit: g3('tcp_speed_limit', 'Per-connection speed limit towards upstreams.'),
  udp_sock_speed_limit: g3('udp_speed_limit', 'Per-socket speed limit for UDP relays.'),
  use_proxy_protocol: g3('proxy_protocol', 'Send a PROXY protocol header (1 or 2) to the upstream.'),
  enable_path_selection: bool('Let clients pick the bind address by index (egress path selection).'),
  bind_foreign: bool('Transparent source address (TPROXY); accepted for compatibility.'),
}, { aliases: { egress_net_filter: 'egress_network_filter' } });
