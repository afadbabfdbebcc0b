/** Server types, keyed by g3's `type:` string (normalised). A new type is a folder and a line here. */
import { dummyCloseType } from './dummy_close/index.js';
import { httpProxyType } from './http_proxy/index.js';
import { httpRProxyType } from './http_rproxy/index.js';
import { intelliProxyType } from './intelli_proxy/index.js';
import { nativeTlsPortType } from './native_tls_port/index.js';
import { plainTcpPortType } from './plain_tcp_port/index.js';
import { plainTlsPortType } from './plain_tls_port/index.js';
import { socksProxyType } from './socks_proxy/index.js';
import { tcpStreamType } from './tcp_stream/index.js';
import { tlsStreamType } from './tls_stream/index.js';
import { sniProxyType } from './sni_proxy/index.js';

export const SERVER_TYPES = {
  http_proxy: httpProxyType,
  http_rproxy: httpRProxyType,
  socks_proxy: socksProxyType,
  plain_tcp_port: plainTcpPortType,
  plain_tls_port: plainTlsPortType,
  native_tls_port: nativeTlsPortType,
  intelli_proxy: intelliProxyType,
  dummy_close: dummyCloseType,
  tcp_stream: tcpStreamType,
  tls_stream: tlsStreamType,
  sni_proxy: sniProxyType,
} as const;

export type ServerTypeName = keyof typeof SERVER_TYPES;
