/** Server types, keyed by g3's `type:` string (normalised). A new type is a folder and a line here. */
import { httpProxyType } from './http_proxy/index.js';
import { httpRProxyType } from './http_rproxy/index.js';
import { socksProxyType } from './socks_proxy/index.js';

export const SERVER_TYPES = {
  http_proxy: httpProxyType,
  http_rproxy: httpRProxyType,
  socks_proxy: socksProxyType,
} as const;

export type ServerTypeName = keyof typeof SERVER_TYPES;
