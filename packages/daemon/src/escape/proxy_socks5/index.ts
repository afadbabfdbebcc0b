import type { ObjectTypeDef } from '../../runtime/object-def.js';
import { peerTypeLinks } from '../proxy-peer.js';
import { parseProxySocks5Config, type ProxySocks5Config } from './config.js';
import { ProxySocks5Escaper } from './proxy-socks5-escaper.js';
import { proxySocks5Schema } from './schema.js';

export const proxySocks5Type: ObjectTypeDef<ProxySocks5Config, ProxySocks5Escaper> = {
  type: 'proxy_socks5',
  logName: 'ProxySocks5',
  schema: proxySocks5Schema('proxy_socks5'),
  parse: (v, ctx) => parseProxySocks5Config(v, ctx, 'proxy_socks5'),
  create: (cfg, runtime) => new ProxySocks5Escaper(cfg, runtime),
  ...peerTypeLinks,
};
