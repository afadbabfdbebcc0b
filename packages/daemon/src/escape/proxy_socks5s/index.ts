/** `proxy_socks5s`: proxy_socks5 with TLS to the next proxy (`tls_client`, `tls_name`). */
import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { peerTypeLinks } from '../proxy-peer.js';
import { parseProxySocks5Config, type ProxySocks5Config } from '../proxy_socks5/config.js';
import { ProxySocks5Escaper } from '../proxy_socks5/proxy-socks5-escaper.js';
import { proxySocks5Schema } from '../proxy_socks5/schema.js';

export const proxySocks5sType: ObjectTypeDef<ProxySocks5Config, ProxySocks5Escaper> = {
  type: 'proxy_socks5s',
  logName: 'ProxySocks5s',
  schema: proxySocks5Schema('proxy_socks5s'),
  parse: (v, ctx) => parseProxySocks5Config(v, ctx, 'proxy_socks5s'),
  create: (cfg, runtime) => new ProxySocks5Escaper(cfg, runtime),
  ...peerTypeLinks,
};
