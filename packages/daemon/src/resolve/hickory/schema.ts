import { g3, int, objectSchema, str, strList } from '../../runtime/schema-util.js';

export const TYPE_NAMES = ['hickory', 'hickory_dns', 'trust_dns'] as const;

export const hickorySchema = objectSchema(TYPE_NAMES, {
  server: strList('DNS servers: IP addresses only (no port; see server_port), a space separated string or a list. Required.'),
  server_port: g3('u16', 'Port of every server. Default: 53 plain, 853 dns-over-tls, 443 dns-over-https.'),
  encryption: {
    description: 'Talk to the servers encrypted. A string is the `tls_name` with dns-over-tls; a map has `tls_name` '
      + '(required: the name the server certificate must carry, also sent as SNI), `protocol` (`dns-over-tls`|`dot`|`tls`, '
      + 'the default; `dns-over-https`|`doh`|`https`, over HTTP/2 to /dns-query; `dns-over-quic` and `dns-over-http/3` '
      + 'are refused: Node has no QUIC client) and `tls_client` (CA, client certificate, versions; see tls_client). '
      + 'Unset: plain DNS over UDP, retried over TCP when an answer is truncated.',
    anyOf: [{ type: 'string' }, { type: 'object', additionalProperties: true }],
  },
  connect_timeout: g3('duration', 'Bound of a TCP/TLS connect to a server (default 10s); the TLS handshake is bounded by tls_client handshake_timeout.'),
  request_timeout: g3('duration', 'Bound of one query attempt to one server (default 5s).'),
  each_timeout: g3('duration', 'How long answers are still awaited after the last server was asked (default 5s).'),
  each_tries: int('Attempts per query and server (default 2).', { minimum: 1 }),
  retry_interval: g3('duration', 'After this long without an answer the next server is asked too (default 1s).'),
  bind_ip: g3('ip', 'Local address the queries are sent from.'),
  bind_interface: str('Network interface to send from (accepted; Node cannot bind a socket to a device, so it is ignored).'),
  tcp_misc_opts: g3('tcp_misc_opts', 'TCP socket options (accepted for compatibility).'),
  udp_misc_opts: g3('udp_misc_opts', 'UDP socket options (accepted for compatibility).'),
  graceful_stop_wait: g3('duration', 'How long a replaced resolver keeps answering (default 30s).'),
  protective_query_timeout: g3('duration', 'Hard bound of one lookup, whatever the driver does (default 60s).'),
  positive_min_ttl: int('Minimum seconds a positive answer is cached (default 30).', { minimum: 0 }),
  positive_max_ttl: int('Maximum seconds a positive answer is cached (default 3600; raised to positive_min_ttl if lower).', { minimum: 0 }),
  negative_min_ttl: int('Seconds a negative answer is cached (default 30).', { minimum: 0 }),
  negative_max_ttl: int('Accepted for compatibility; g3 ignores it too.', { minimum: 0 }),
}, {
  required: ['server'],
  aliases: { negative_ttl: 'negative_min_ttl', retry_attempts: 'each_tries', encrypt: 'encryption' },
});
