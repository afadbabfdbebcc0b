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

/** A task log field: its value for a task, or undefined to leave the key out. */
export type TaskFieldGetter = (t: TaskContext, totalMs: number) => LogValue | undefined;

const str = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
const dur = (ms: number | undefined): string | undefined => (ms !== undefined && ms > 0 ? formatDuration(ms) : undefined);
const httpOf = (t: TaskContext) => (t instanceof HttpForwardTask ? t : undefined);
const ftpOf = (t: TaskContext) => (t instanceof FtpOverHttpTask ? t : undefined);
const udpOf = (t: TaskContext) => (t instanceof UdpTask ? t : undefined);
/** HTTP-ish tasks (forward and FTP over HTTP) share method/uri/user_agent/rsp_status. */
const reqOf = (t: TaskContext) => (t instanceof HttpForwardTask || t instanceof FtpOverHttpTask ? t : undefined);

/**
 * Every field of a task's finish record, in g3's order (g3proxy/src/log/task/*.rs): the logger's
 * server_type/server_name, task identity, addresses, the escaper's connection notes, reason, the request notes,
 * times, counters. Durations and unset values are omitted; counters (tcp_connect_tries, byte and packet counts,
 * HTTP statuses) are always written, 0 when nothing happened, as g3 writes its integers. FtpOverHttp records
 * carry ftp_c_* / ftp_d_* and no r_* bytes, as g3's.
 *
 * One table serves both the generic record (taskLogFields) and the stdout fast path, so they cannot drift.
 */
export const TASK_FIELDS: ReadonlyArray<readonly [string, TaskFieldGetter]> = [
  ['server_type', (t) => str(t.serverType)],
  ['server_name', (t) => str(t.serverName)],
  ['task_type', (t) => t.taskType],
  ['task_id', (t) => t.id],
  // g3 writes the event in lower case (TaskEvent::as_str)
  ['task_event', () => 'finished'],
  ['stage', (t) => t.stage],
  ['start_at', (t) => formatTimestamp(t.startAt)],
  ['user', (t) => str(t.user)],
  ['server_addr', (t) => str(t.serverAddr)],
  ['client_addr', (t) => str(t.clientAddr)],
  ['upstream', (t) => (t.upstream ? formatUpstream(t.upstream) : undefined)],
  ['escaper', (t) => str(t.escaper)],
  ['next_bind_ip', (t) => str(t.nextBindIp)],
  ['next_bound_addr', (t) => str(t.nextBoundAddr)],
  ['next_peer_addr', (t) => str(t.nextPeerAddr)],
  ['tcp_connect_tries', (t) => t.tcpConnectTries],
  ['tcp_connect_spend', (t) => dur(t.tcpConnectSpend)],
  ['reason', (t) => t.reason ?? t.error?.reason ?? 'Finished'],
  ['ftp_c_bound_addr', (t) => str(ftpOf(t)?.ftpC.boundAddr)],
  ['ftp_c_peer_addr', (t) => str(ftpOf(t)?.ftpC.peerAddr)],
  ['ftp_c_connect_tries', (t) => { const n = ftpOf(t)?.ftpC.connectTries; return n ? n : undefined; }],
  ['ftp_c_connect_spend', (t) => dur(ftpOf(t)?.ftpC.connectSpend)],
  ['ftp_d_bound_addr', (t) => str(ftpOf(t)?.ftpD.boundAddr)],
  ['ftp_d_peer_addr', (t) => str(ftpOf(t)?.ftpD.peerAddr)],
  ['ftp_d_connect_tries', (t) => { const n = ftpOf(t)?.ftpD.connectTries; return n ? n : undefined; }],
  ['ftp_d_connect_spend', (t) => dur(ftpOf(t)?.ftpD.connectSpend)],
  ['pipeline_wait', (t) => dur(httpOf(t)?.pipelineWait)],
  ['reuse_connection', (t) => httpOf(t)?.reuseConnection],
  ['method', (t) => str(reqOf(t)?.method)],
  ['uri', (t) => str(reqOf(t)?.uri)],
  ['user_agent', (t) => str(reqOf(t)?.userAgent)],
  ['rsp_status', (t) => { const h = httpOf(t); return h ? (h.rspStatus ?? 0) : ftpOf(t)?.rspStatus; }],
  ['origin_status', (t) => { const h = httpOf(t); return h ? (h.originStatus ?? 0) : undefined; }],
  ['wait_time', (t) => dur(t.waitTime)],
  ['ready_time', (t) => dur(t.readyTime)],
  ['dur_req_send_hdr', (t) => dur(httpOf(t)?.durReqSendHdr)],
  ['dur_req_send_all', (t) => dur(httpOf(t)?.durReqSendAll)],
  ['dur_rsp_recv_hdr', (t) => dur(httpOf(t)?.durRspRecvHdr)],
  ['dur_rsp_recv_all', (t) => dur(httpOf(t)?.durRspRecvAll)],
  ['total_time', (_t, total) => dur(total)],
  ['tcp_server_addr', (t) => str(udpOf(t)?.tcpServerAddr)],
  ['tcp_client_addr', (t) => str(udpOf(t)?.tcpClientAddr)],
  ['udp_server_addr', (t) => str(udpOf(t)?.udpServerAddr)],
  ['udp_client_addr', (t) => str(udpOf(t)?.udpClientAddr)],
  ['initial_peer', (t) => str(udpOf(t)?.initialPeer)],
  ['next_expire', (t) => str(udpOf(t)?.nextExpire)],
  ['c_rd_packets', (t) => udpOf(t)?.cRdPackets],
  ['c_wr_packets', (t) => udpOf(t)?.cWrPackets],
  ['r_rd_packets', (t) => udpOf(t)?.rRdPackets],
  ['r_wr_packets', (t) => udpOf(t)?.rWrPackets],
  ['c_rd_bytes', (t) => t.cRdBytes],
  ['c_wr_bytes', (t) => t.cWrBytes],
  ['r_rd_bytes', (t) => (ftpOf(t) ? undefined : t.rRdBytes)],
  ['r_wr_bytes', (t) => (ftpOf(t) ? undefined : t.rWrBytes)],
  ['ftp_c_rd_bytes', (t) => ftpOf(t)?.ftpCRdBytes],
  ['ftp_c_wr_bytes', (t) => ftpOf(t)?.ftpCWrBytes],
  ['ftp_d_rd_bytes', (t) => ftpOf(t)?.ftpDRdBytes],
  ['ftp_d_wr_bytes', (t) => ftpOf(t)?.ftpDWrBytes],
];

export function taskLogFields(t: TaskContext, totalMs: number): Fields {
  const f: Fields = [];
  for (let i = 0; i < TASK_FIELDS.length; i++) {
    const [k, get] = TASK_FIELDS[i]!;
    const v = get(t, totalMs);
    if (v !== undefined) f.push([k, v]);
  }
  return f;
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
  logger.logTask(t, total, msg);
  return true;
}
