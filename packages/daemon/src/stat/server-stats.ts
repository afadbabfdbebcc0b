/**
 * In-memory counters of a server, kept as plain number fields (the hot path only increments). The StatsD
 * emitter reads them on its interval and sends deltas (gauges as they are). A reload that keeps the server
 * keeps its stats object, so the deltas carry on.
 */
export class ServerStats {
  connTotal = 0;
  taskTotal = 0;
  /** gauge */
  taskAlive = 0;
  forbiddenAuthFailed = 0;
  forbiddenDestDenied = 0;
  forbiddenUserBlocked = 0;
  /** TCP bytes from / to clients */
  inBytes = 0;
  outBytes = 0;
  /** UDP from / to clients (socks udp) */
  udpInBytes = 0;
  udpInPackets = 0;
  udpOutBytes = 0;
  udpOutPackets = 0;
  /** tasks from clients outside `ingress_network_filter`'s trusted set (g3's untrusted tasks) */
  untrustedTaskTotal = 0;
  /** gauge */
  untrustedTaskAlive = 0;
  untrustedInBytes = 0;
  // listener (g3's listen.* metrics)
  /** gauge: listening sockets */
  listenInstanceCount = 0;
  listenAccepted = 0;
  listenDropped = 0;
  listenTimeout = 0;
  listenFailed = 0;
}
