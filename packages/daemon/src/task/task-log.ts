/**
 * Writes the one task log record of a finished task, with g3's field names and value formats
 * (zero durations and unset values omitted).
 */
import { formatDuration, formatTimestamp } from '../log/format.js';
import type { Logger } from '../log/hub.js';
import type { LogValue } from '../log/record.js';
import { FtpOverHttpTask } from './ftp-task.js';
import { HttpForwardTask } from './http-task.js';
import { formatUpstream, type TaskContext } from './task.js';
import { UdpTask } from './udp-task.js';

type Fields = Array<[string, LogValue]>;

function put(f: Fields, k: string, v: LogValue | undefined): void {
  if (v !== undefined && v !== '') f.push([k, v]);
}
function putDur(f: Fields, k: string, ms: number | undefined): void {
  if (ms !== undefined && ms > 0) f.push([k, formatDuration(ms)]);
}

/**
 * The finish record's fields in g3's order (g3proxy/src/log/task/{tcp_connect,http_forward}.rs): the logger's
 * server_type/server_name, then task identity, addresses, the escaper's connection notes, reason, the HTTP
 * notes, times and byte counters. Durations and unset values are omitted; counters (tcp_connect_tries, the
 * byte counts, HTTP statuses) are always written, 0 when nothing happened, as g3 writes its integers.
 */
export function taskLogFields(t: TaskContext, totalMs: number): Fields {
  const f: Fields = [];
  put(f, 'server_type', t.serverType);
  put(f, 'server_name', t.serverName);
  put(f, 'task_type', t.taskType);
  put(f, 'task_id', t.id);
  // g3 writes the event in lower case (TaskEvent::as_str)
  put(f, 'task_event', 'finished');
  put(f, 'stage', t.stage);
  put(f, 'start_at', formatTimestamp(t.startAt));
  put(f, 'user', t.user);
  put(f, 'server_addr', t.serverAddr);
  put(f, 'client_addr', t.clientAddr);
  put(f, 'upstream', t.upstream ? formatUpstream(t.upstream) : undefined);
  put(f, 'escaper', t.escaper);
  put(f, 'next_bind_ip', t.nextBindIp);
  put(f, 'next_bound_addr', t.nextBoundAddr);
  put(f, 'next_peer_addr', t.nextPeerAddr);
  f.push(['tcp_connect_tries', t.tcpConnectTries]);
  putDur(f, 'tcp_connect_spend', t.tcpConnectSpend);
  put(f, 'reason', t.reason ?? t.error?.reason ?? 'Finished');
  if (t instanceof FtpOverHttpTask) {
    ftpFields(f, t);
    putDur(f, 'wait_time', t.waitTime);
    putDur(f, 'ready_time', t.readyTime);
    putDur(f, 'total_time', totalMs);
    return f;
  }
  const http = t instanceof HttpForwardTask ? t : undefined;
  if (http) {
    putDur(f, 'pipeline_wait', http.pipelineWait);
    f.push(['reuse_connection', http.reuseConnection]);
    put(f, 'method', http.method);
    put(f, 'uri', http.uri);
    put(f, 'user_agent', http.userAgent);
    f.push(['rsp_status', http.rspStatus ?? 0], ['origin_status', http.originStatus ?? 0]);
  }
  putDur(f, 'wait_time', t.waitTime);
  putDur(f, 'ready_time', t.readyTime);
  if (http) {
    putDur(f, 'dur_req_send_hdr', http.durReqSendHdr);
    putDur(f, 'dur_req_send_all', http.durReqSendAll);
    putDur(f, 'dur_rsp_recv_hdr', http.durRspRecvHdr);
    putDur(f, 'dur_rsp_recv_all', http.durRspRecvAll);
  }
  putDur(f, 'total_time', totalMs);
  if (t instanceof UdpTask) {
    put(f, 'tcp_server_addr', t.tcpServerAddr);
    put(f, 'tcp_client_addr', t.tcpClientAddr);
    put(f, 'udp_server_addr', t.udpServerAddr);
    put(f, 'udp_client_addr', t.udpClientAddr);
    put(f, 'initial_peer', t.initialPeer);
    put(f, 'next_expire', t.nextExpire);
    f.push(['c_rd_packets', t.cRdPackets], ['c_wr_packets', t.cWrPackets], ['r_rd_packets', t.rRdPackets], ['r_wr_packets', t.rWrPackets]);
  }
  f.push(['c_rd_bytes', t.cRdBytes], ['c_wr_bytes', t.cWrBytes], ['r_rd_bytes', t.rRdBytes], ['r_wr_bytes', t.rWrBytes]);
  return f;
}

/** FtpOverHttp: the remote side is two connections, each with its own facts and byte counters (no r_* keys). */
function ftpFields(f: Fields, t: FtpOverHttpTask): void {
  for (const [p, n] of [['ftp_c', t.ftpC], ['ftp_d', t.ftpD]] as const) {
    put(f, `${p}_bound_addr`, n.boundAddr);
    put(f, `${p}_peer_addr`, n.peerAddr);
    if (n.connectTries > 0) put(f, `${p}_connect_tries`, n.connectTries);
    putDur(f, `${p}_connect_spend`, n.connectSpend);
  }
  put(f, 'method', t.method);
  put(f, 'uri', t.uri);
  put(f, 'user_agent', t.userAgent);
  put(f, 'rsp_status', t.rspStatus);
  f.push(['c_rd_bytes', t.cRdBytes], ['c_wr_bytes', t.cWrBytes], ['ftp_c_rd_bytes', t.ftpCRdBytes], ['ftp_c_wr_bytes', t.ftpCWrBytes],
    ['ftp_d_rd_bytes', t.ftpDRdBytes], ['ftp_d_wr_bytes', t.ftpDWrBytes]);
}

/** Finish a task exactly once: stage, log record. Returns false if it was already finished. */
export function finishTask(t: TaskContext, logger: Logger): boolean {
  if (t.finished) return false;
  t.finished = true;
  const total = t.elapsed();
  t.onFinish?.(t);
  if (!logger.enabled || t.skipLog) {
    logger.stats.total++;
    logger.stats.drop++;
    return true;
  }
  const msg = t.error ? `${t.error.code}: ${t.error.message}` : '';
  // g3 logs every finish record at INFO, the error text as the message
  logger.log('Task', taskLogFields(t, total), msg, 'info');
  return true;
}
