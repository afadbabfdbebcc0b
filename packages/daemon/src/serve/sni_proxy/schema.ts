import { bool, commonServerFields, g3, int, objectSchema, type FieldSchema } from '../../runtime/schema-util.js';
import { streamServerAliases, streamServerFields } from '../tcp_stream/stream-config.js';

export const TYPE_NAMES = ['sni_proxy', 'sniproxy'] as const;

const objectField = (description: string): FieldSchema => ({ description, type: 'object' });
const mapOrList = (description: string): FieldSchema => ({ description, anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] });

/** g3's sni_proxy: the destination is the TLS SNI or the HTTP Host of the client's first bytes. */
export const sniProxySchema = objectSchema(TYPE_NAMES, {
  ...commonServerFields,
  ...streamServerFields,
  auth_by_server_name: bool('Find the user of `user_group` by the requested server name (after redirection): a domain against `domain` / `child-domain` facts, an IP against `ip` / `net` facts (default false; not with auth_by_client_ip).'),
  tls_max_client_hello_size: int('Largest TLS ClientHello accepted, in bytes, handshake header included (default 65536); a larger one ends the task as InvalidClientProtocol.', { minimum: 64 }),
  request_wait_timeout: g3('duration', 'Time allowed from accept until the client sends its first bytes (default 60s).'),
  request_recv_timeout: g3('duration', 'Time allowed from the first bytes until the whole TLS ClientHello or HTTP request head has arrived (default 4s).'),
  protocol_inspection: objectField('Protocol inspection basics (inspect_max_depth, data0_buffer_size, data0_wait_timeout, data0_read_timeout, data0_size_limit); data0_buffer_size (default 4KiB) sizes the first read buffer, the rest is checked and accepted.'),
  server_tcp_portmap: mapOrList('Protocol hints by server port: a list of `{port, protocol}` or a map `port: protocol(s)`. Checked and accepted; sluice tells TLS from HTTP/1 by the first byte, so hints do not change the outcome.'),
  client_tcp_portmap: mapOrList('Protocol hints by client port, as server_tcp_portmap. Checked and accepted.'),
  allowed_hosts: mapOrList('Hosts this server serves: a map or list of maps with `exact_match` (hosts/IPs), `child_match` (parent domains) or `set_default`, and optional `redirect_host` / `redirect_port` rewriting the destination. When set, other hosts are refused (ForbiddenByRule). Default: every host.'),
}, { required: ['escaper'], aliases: { ...streamServerAliases, allowed_sites: 'allowed_hosts' } });
