import { TaskContext } from './task.js';

/**
 * A SOCKS UDP task (g3's UdpAssociate / UdpConnect): addresses of both the TCP control connection and the UDP
 * relay, and packet counters beside the byte counters. The base `clientAddr`/`serverAddr` are left empty so the
 * log carries g3's `tcp_*`/`udp_*` keys instead of `client_addr`/`server_addr`.
 */
export class UdpTask extends TaskContext {
  udpServerAddr: string | undefined;
  udpClientAddr: string | undefined;
  /** UdpAssociate: destination of the first datagram */
  initialPeer: string | undefined;
  nextExpire: string | undefined;
  cRdPackets = 0;
  cWrPackets = 0;
  rRdPackets = 0;
  rWrPackets = 0;

  constructor(
    taskType: 'UdpAssociate' | 'UdpConnect',
    serverName: string,
    serverType: string,
    readonly tcpClientAddr: string,
    readonly tcpServerAddr: string,
  ) {
    super(taskType, serverName, serverType, '', '');
  }
}
