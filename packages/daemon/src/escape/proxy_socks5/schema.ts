import { bool, g3, objectSchema } from '../../runtime/schema-util.js';
import { PROXY_ALIASES, proxyPeerFields } from '../proxy-peer.js';

export function proxySocks5Schema(type: 'proxy_socks5' | 'proxy_socks5s'): object {
  return objectSchema([type], {
    ...proxyPeerFields(1080, type === 'proxy_socks5s'),
    udp_sock_speed_limit: g3('udp_speed_limit', 'Per-socket speed limit for UDP relayed through the next proxy.'),
    udp_relay_speed_limit: g3('udp_speed_limit', 'Old name of udp_sock_speed_limit.'),
    udp_misc_opts: g3('udp_misc_opts', 'Socket options for UDP sockets towards the next proxy.'),
    transmute_udp_peer_ip: {
      description: 'Replace the UDP relay address the next proxy replies with: true = use the proxy\'s own address, or a map reply-ip → ip.',
      anyOf: [{ type: 'boolean' }, { type: 'object', additionalProperties: { type: 'string' } }],
    },
    end_on_control_closed: bool('End UDP relays when the SOCKS control connection closes.'),
    use_proxy_protocol: g3('proxy_protocol', 'Send a PROXY protocol header (1 or 2) to the next proxy first.'),
  }, {
    required: ['proxy_addr'],
    aliases: { ...PROXY_ALIASES, udp_relay_limit: 'udp_relay_speed_limit', relay_limit: 'udp_relay_speed_limit' },
  });
}
