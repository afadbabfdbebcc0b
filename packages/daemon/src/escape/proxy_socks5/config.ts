import type { ParseContext } from '../../runtime/object-def.js';
import { parseProxyPeerConfig, type ProxyPeerConfig } from '../proxy-peer.js';

export interface ProxySocks5Config extends ProxyPeerConfig {
  endOnControlClosed: boolean;
  transmuteUdpPeerIp: Readonly<Record<string, string>> | boolean;
}

export function parseProxySocks5Config(v: Record<string, unknown>, ctx: ParseContext, type: 'proxy_socks5' | 'proxy_socks5s'): ProxySocks5Config {
  const base = parseProxyPeerConfig(v, ctx, type, 1080, type === 'proxy_socks5s');
  const t = v.transmute_udp_peer_ip;
  return Object.freeze({
    ...base,
    // g3's default keepalive towards a SOCKS peer is on (60s): the control connection idles during UDP relays
    tuning: v.tcp_keepalive === undefined ? { ...base.tuning, keepAlive: { enable: true, idleMs: 60_000 } } : base.tuning,
    endOnControlClosed: v.end_on_control_closed === true,
    transmuteUdpPeerIp: typeof t === 'object' && t !== null ? Object.freeze({ ...(t as Record<string, string>) }) : t === true,
  });
}
