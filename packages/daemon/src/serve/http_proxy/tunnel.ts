/**
 * CONNECT: open a TCP stream through the escaper, answer 200, then relay bytes both ways until either side is
 * done. Bytes the client sent before our 200 (an eager TLS ClientHello) are kept and sent first.
 */
import { SluiceError, toSluiceError } from '@sluice/common';
import { HttpParseError, parseAuthorityForm, type RequestHead } from '@sluice/protocol';
import { TaskContext } from '../../task/task.js';
import { Relay, RELAY_END_REASON } from '../relay.js';
import type { HttpProxyConnection } from './connection.js';
import { CONNECT_ESTABLISHED, remoteConnectionInfo } from '../http/responses.js';
import { AuditedTunnel } from '../../audit/audited-tunnel.js';
import { Cancel } from '../../runtime/cancel.js';

export async function runTunnel(conn: HttpProxyConnection, head: RequestHead, headBytes: number): Promise<void> {
  const server = conn.server;
  const task = new TaskContext('TcpConnect', server.name, server.logName, conn.info.clientAddr, conn.info.serverAddr);
  server.beginTask(task);
  task.cRdBytes = headBytes;
  let target;
  try {
    target = parseAuthorityForm(head.target);
  } catch (e) {
    const detail = e instanceof HttpParseError ? e.detail : (e as Error).message;
    return conn.failTask(task, new SluiceError('CLIENT_PROTOCOL_INVALID', `bad CONNECT target: ${detail}`), 400, true);
  }
  const upstream0 = { host: target.host, port: target.port, ipFamily: (target.hostKind === 'ipv4' ? 4 : target.hostKind === 'ipv6' ? 6 : 0) as 0 | 4 | 6 };
  task.upstream = upstream0;
  if (server.config.auth.userGroup) {
    const refused = await server.authorize(conn, head, task, 'HttpConnect', upstream0);
    if (conn.state === 'closed') {
      task.error = new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during authentication');
      server.endTask(task);
      return;
    }
    if (refused) return conn.failTask(task, refused.error, refused.status, true, refused.headers, conn.authRefusal(refused) === 'silent');
    conn.authPassed();
  }
  const badPath = server.selectEgressPath(head, task);
  if (badPath) return conn.failTask(task, badPath, 400, true);
  const denied = server.checkDestination(upstream0);
  if (denied) return conn.failTask(task, denied, 403, true);
  const escaper = server.escaper();
  task.escaper = escaper.name;
  task.stage = 'Connecting';
  task.markWait();
  const abort = new Cancel();
  conn.inflight = abort;
  let upstream;
  let upstreamInfo;
  try {
    const c = await escaper.tcpConnect(task, upstream0, abort.signal);
    upstream = c.socket;
    upstreamInfo = c.info;
  } catch (e) {
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    if (abort.signal.aborted || conn.state === 'closed') {
      task.error = err.code === 'CLIENT_CLOSED_EARLY' ? err : new SluiceError('CLIENT_CLOSED_EARLY', err.message);
      server.endTask(task);
      return;
    }
    return conn.failTask(task, err, err.httpStatus, true);
  }
  conn.inflight = null;
  if (abort.signal.aborted || conn.state === 'closed' || conn.socket.destroyed) {
    upstream.destroy();
    task.error = new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during connect');
    server.endTask(task);
    return;
  }
  task.stage = 'Connected';
  const client = conn.socket;
  conn.detachReader();
  client.removeAllListeners('end');
  client.removeAllListeners('drain');
  client.removeAllListeners('close');
  client.removeAllListeners('error');
  const established = server.config.serverId === undefined ? CONNECT_ESTABLISHED
    : Buffer.from(`HTTP/1.1 200 Connection established\r\n${remoteConnectionInfo(server.config.serverId, upstreamInfo)}\r\n`, 'latin1');
  client.write(established);
  task.cWrBytes += established.length;
  task.markReady();
  task.stage = 'Relaying';
  const auditor = server.tunnelAuditor(task, server.config.auditor);
  if (auditor) {
    const tunnel = new AuditedTunnel({
      auditor, client, upstream, task, target: upstream0, stats: server.stats, limit: server.config.speedLimit ?? null,
      early: conn.takeQueued(), done: () => {
        server.endTask(task);
        conn.release();
      },
    });
    conn.tunnelIdleTick = (max) => tunnel.idleTick(max);
    conn.tunnelAbort = () => tunnel.abort();
    return tunnel.start();
  }
  const relay = new Relay(client, upstream, task, server.stats, (end) => {
    task.reason = RELAY_END_REASON[end];
    server.endTask(task);
    conn.release();
  }, server.config.speedLimit);
  for (const early of conn.takeQueued()) relay.sendEarly(early);
  conn.tunnelIdleTick = (max) => relay.idleTick(max);
  conn.tunnelAbort = () => relay.abort();
  relay.start();
}
