import { ServerStats } from '../../stat/server-stats.js';

/** socks_proxy counters beside the common ones: tasks per request type (g3's task_{tcp_connect,udp_*}), UDP packets. */
export class SocksProxyStats extends ServerStats {
  tcpConnectTotal = 0;
  tcpConnectAlive = 0;
  udpConnectTotal = 0;
  udpConnectAlive = 0;
  udpAssociateTotal = 0;
  udpAssociateAlive = 0;
  /** connections that ended before a valid request was read */
  negotiationFailed = 0;
  /** datagrams dropped: wrong source, too large, fragmented, over the speed limit */
  udpDropped = 0;
}
