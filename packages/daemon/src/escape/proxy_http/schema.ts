import { bool, g3, objectSchema, type FieldSchema } from '../../runtime/schema-util.js';
import { PROXY_ALIASES, proxyPeerFields } from '../proxy-peer.js';

const capability: FieldSchema = {
  description: 'What the next proxy forwards itself: {forward_https, forward_ftp, forward_ftp_get, forward_ftp_put, forward_ftp_del} (all false: https is forwarded through a CONNECT tunnel with TLS done here).',
  type: 'object',
  additionalProperties: false,
  properties: {
    forward_https: g3('bool', 'The next proxy forwards https itself.'), forward_ftp: g3('bool', 'All three ftp ones.'),
    forward_ftp_get: g3('bool', 'FTP GET.'), forward_ftp_put: g3('bool', 'FTP PUT.'), forward_ftp_del: g3('bool', 'FTP DELETE.'),
  },
};

export function proxyHttpSchema(type: 'proxy_http' | 'proxy_https'): object {
  return objectSchema([type], {
    ...proxyPeerFields(3128, type === 'proxy_https'),
    http_forward_capability: capability,
    http_connect_rsp_header_max_size: g3('size', 'Largest CONNECT reply head accepted from the next proxy (default 4KiB).'),
    pass_proxy_userid: bool('Send the client\'s username to the next proxy (password "g3proxy") instead of proxy_username.'),
    use_proxy_protocol: g3('proxy_protocol', 'Send a PROXY protocol header (1 or 2) to the next proxy first.'),
  }, { required: ['proxy_addr'], aliases: PROXY_ALIASES });
}
