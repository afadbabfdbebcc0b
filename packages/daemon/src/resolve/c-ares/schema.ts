import { bool, g3, int, objectSchema, strList } from '../../runtime/schema-util.js';

export const TYPE_NAMES = ['c-ares', 'cares'] as const;

export const cAresSchema = objectSchema(TYPE_NAMES, {
  server: strList('DNS servers as `ip[:port]`, a space separated string or a list. Default: the system resolv.conf.'),
  each_timeout: int('Timeout of each query attempt in milliseconds (default 2000).', { minimum: 1 }),
  each_tries: int('Attempts per query and server (default 3).', { minimum: 1 }),
  max_timeout: int('Upper bound in milliseconds of a whole query (c-ares option; kept for compatibility).', { minimum: 0 }),
  udp_max_quires: int('Queries per UDP port before c-ares opens a new one (kept for compatibility).', { minimum: 0 }),
  udp_max_queries: int('Alias spelling of udp_max_quires.', { minimum: 0 }),
  round_robin: bool('Rotate through the servers (kept for compatibility; Node tries servers in order).'),
  so_send_buf_size: g3('size', 'Socket send buffer size (kept for compatibility).'),
  so_recv_buf_size: g3('size', 'Socket receive buffer size (kept for compatibility).'),
  bind_ipv4: g3('ip', 'Local IPv4 address the queries are sent from.'),
  bind_ipv6: g3('ip', 'Local IPv6 address the queries are sent from.'),
  graceful_stop_wait: g3('duration', 'How long a replaced resolver keeps answering (default 30s).'),
  protective_query_timeout: g3('duration', 'Hard bound of one lookup, whatever the driver does (default 60s).'),
  positive_min_ttl: int('Minimum seconds a positive answer is cached (default 30).', { minimum: 0 }),
  positive_max_ttl: int('Maximum seconds a positive answer is cached (default 3600).', { minimum: 0 }),
  negative_min_ttl: int('Seconds a negative answer is cached (default 30).', { minimum: 0 }),
}, { aliases: { negative_ttl: 'negative_min_ttl' } });
