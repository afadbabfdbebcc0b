/**
 * In-memory counters of a server, kept as plain number fields (the hot path only increments). The StatsD
 * emitter reads them on its interval and sends deltas. A reload that keeps the server keeps its stats object.
 */
export class ServerStats {
  connTotal = 0;
  taskTotal = 0;
  taskAlive = 0;
  forbiddenAuthFailed = 0;
  forbiddenDestDenied = 0;
  forbiddenUserBlocked = 0;
  inBytes = 0;
  outBytes = 0;
  listenAccepted = 0;
  listenDropped = 0;
  listenFailed = 0;
}
