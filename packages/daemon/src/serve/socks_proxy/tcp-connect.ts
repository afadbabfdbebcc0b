/**
 * SOCKS CONNECT (SOCKS4, 4a and 5): open a TCP stream through the escaper, answer, then relay. Bytes the client
 * sent right after its request (optimistic data) are held, bounded, and sent first.
 */
import { SluiceError, toSluiceError } from '@sluice/common';
import { encodeSocks4Reply, encodeSocks5Reply, type SocksAddress } from '@sluice/protocol';
import { authorizeSocksTask } from '../../auth/socks-auth.js';
import { TaskContext, type Upstream } from '../../task/task.js';
import { Relay, RELAY_END_REASON } from '../relay.js';
import type { SocksConnection } from './connection.js';
import { AuditedTunnel } from '../../audit/audited-tunnel.js';
import { Cancel } from '../../runtime/cancel.js';

function failReply(conn: SocksConnection, err: SluiceError): Buffer {
  return conn.version === 4 ? encodeSocks4Reply(false) : encodeSocks5Reply(err.socksReply);
}

export async function runTcpConnect(conn: SocksConnection, addr: SocksAddress, early: Buffer): Promise<void> {
  const server = conn.server;
  const client = conn.socket;
  const task = new TaskContext('TcpConnect', server.name, server.logName, conn.info.clientAddr, conn.info.serverAddr);
  task.user = conn.user;
  task.cRdBytes = conn.negotiationRead - early.length;
  task.cWrBytes = conn.negotiationWritten;
  server.beginTask(task);
  const upstream: Upstream = { host: addr.host, port: addr.port, ipFamily: addr.ipFamily };
  task.upstream = upstream;
  task.stage = 'Preparing';

  const fail = (err: SluiceError, reply: boolean) => {
    task.error = err;
    if (reply && !client.destroyed) {
      const r = failReply(conn, err);
      task.cWrBytes += r.length;
      client.write(r);
    }
    server.endTask(task);
    conn.active = null;
    conn.close();
  };

  const refused = await authorizeSocksTask(server.name, conn.info, task, 'SocksTcpConnect', upstream, client, server.config.escaper);
  if (client.destroyed) return fail(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during authorization'), false);
  if (refused) return fail(refused, true);
  const denied = server.checkDestination(upstream);
  if (denied) return fail(denied, true);
  if (upstream.port === 0) return fail(new SluiceError('CLIENT_PROTOCOL_INVALID', 'destination port 0'), true);

  // While connecting: keep reading so a client hanging up cancels the connect; hold early data, bounded.
  const abort = new Cancel();
  const held: Buffer[] = early.length > 0 ? [early] : [];
  let heldBytes = early.length;
  let clientGone = false;
  conn.active = {
    idleTick: () => false,
    abort: () => {
      clientGone = true;
      abort.abort();
    },
    onClientData: (chunk) => {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes > server.config.earlyDataMax) client.pause();
    },
    onClientGone: () => {
      clientGone = true;
      abort.abort();
    },
  };

  const escaper = server.escaper();
  task.escaper = escaper.name;
  task.stage = 'Connecting';
  task.markWait();
  let upSocket;
  try {
    upSocket = (await escaper.tcpConnect(task, upstream, abort.signal)).socket;
  } catch (e) {
    const err = toSluiceError(e, 'UPSTREAM_CONNECT_FAILED');
    if (clientGone || abort.signal.aborted) return fail(err.code === 'CLIENT_CLOSED_EARLY' ? err : new SluiceError('CLIENT_CLOSED_EARLY', err.message), false);
    return fail(err, true);
  }
  if (clientGone || client.destroyed) {
    upSocket.destroy();
    return fail(new SluiceError('CLIENT_CLOSED_EARLY', 'client went away during connect'), false);
  }
  task.stage = 'Connected';
  conn.detachReader();
  client.removeAllListeners('end');
  client.removeAllListeners('error');
  client.removeAllListeners('close');
  const bound = upSocket.localAddress;
  const reply = conn.version === 4
    ? encodeSocks4Reply(true)
    : encodeSocks5Reply(0x00, bound ? (bound.startsWith('::ffff:') ? bound.slice(7) : bound) : '0.0.0.0', upSocket.localPort ?? 0);
  client.write(reply);
  task.cWrBytes += reply.length;
  task.markReady();
  task.stage = 'Relaying';
  const auditor = server.tunnelAuditor(task, server.config.auditor);
  if (auditor) {
    const tunnel = new AuditedTunnel({
      auditor, client, upstream: upSocket, task, target: task.upstream!, stats: server.stats, limit: server.config.tcpSpeedLimit ?? null,
      early: held, done: () => {
        server.endTask(task);
        conn.active = null;
        conn.release();
      },
    });
    conn.active = tunnel;
    return tunnel.start();
  }
  const relay = new Relay(client, upSocket, task, server.stats, (end) => {
    task.reason = RELAY_END_REASON[end];
    server.endTask(task);
    conn.active = null;
    conn.release();
  }, server.config.tcpSpeedLimit);
  for (const b of held) relay.sendEarly(b);
  conn.active = { idleTick: (max) => relay.idleTick(max), abort: () => relay.abort() };
  relay.start();
}
