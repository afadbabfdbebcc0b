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

/**
 * Which task classes a field can have a value for: `http` = HttpForwardTask, `ftp` = FtpOverHttpTask,
 * `udp` = UdpTask, `plain` = any other TaskContext (TcpConnect). A field without a scope applies to all.
 * Formatters use it to skip, per class, the getters that can only return undefined.
 */
export type TaskKind = 'http' | 'ftp' | 'udp' | 'plain';
/** A duration field's value in milliseconds (formatted by `get`, or by a driver with its own duration format). */
export type TaskDurationGetter = (t: TaskContext, totalMs: number) => number | undefined;
export type TaskField = readonly [key: string, get: TaskFieldGetter, scope?: readonly TaskKind[], durationMs?: TaskDurationGetter];

/** A duration field: g3's Duration format, zero and unset left out. */
function durField(key: string, ms: TaskDurationGetter, scope?: readonly TaskKind[]): TaskField {
  return [key, (t, total) => dur(ms(t, total)), scope, ms];
}

export function taskKindOf(t: TaskContext): TaskKind {
  if (t instanceof HttpForwardTask) return 'http';
  if (t instanceof UdpTask) return 'udp';
  if (t instanceof FtpOverHttpTask) return 'ftp';
  return 'plain';
}

const str = (v: string | undefined): string | undefined => (v === '' ? undefined : v);
const dur = (ms: number | undefined): string | undefined => (ms !== undefined && ms > 0 ? formatDuration(ms) : undefined);
const httpOf = (t: TaskContext) => (t instanceof HttpForwardTask ? t : undefined);
const ftpOf = (t: TaskContext) => (t instanceof FtpOverHttpTask ? t : undefined);
const udpOf = (t: TaskContext) => (t instanceof UdpTask ? t : undefined);
/** HTTP-ish tasks (forward and FTP over HTTP) share method/uri/user_agent/rsp_status. */
const reqOf = (t: TaskContext) => (t instanceof HttpForwardTask || t instanceof FtpOverHttpTask ? t : undefined);

const HTTP: readonly TaskKind[] = ['http'];
const FTP: readonly TaskKind[] = ['ftp'];
const UDP: readonly TaskKind[] = ['udp'];
const REQ: readonly TaskKind[] = ['http', 'ftp'];
const NOT_FTP: readonly TaskKind[] = ['http', 'udp', 'plain'];

/**
 * Every field of a task's finish record, in g3's order (g3proxy/src/log/task/*.rs): the logger's
 * server_type/server_name, task identity, addresses, the escaper's connection notes, reason, the request notes,
 * times, counters. Durations and unset values are omitted; counters (tcp_connect_tries, byte and packet counts,
 * HTTP statuses) are always written, 0 when nothing happened, as g3 writes its integers. FtpOverHttp records
 * carry ftp_c_* / ftp_d_* and no r_* bytes, as g3's.
 *
 * One table serves both the generic record (taskLogFields) and the stdout fast path, so they cannot drift. The
 * optional third element scopes a field to the task classes it can have a value for (the getter still checks,
 * so a wrong scope can only leave a key out, never print a wrong value).
 */
export const TASK_FIELDS: ReadonlyArray<TaskField> = [
  ['server_type', (t) => str(t.serverType)],
  ['server_name', (t) => str(t.serverName)],
  ['task_type', (t) => t.taskType],
  ['task_id', (t) => t.id],
  // the finish record's event (g3 TaskEvent::Finished.as_str(); the other events are in task-events.ts)
  ['task_event', () => 'Finished'],
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
  durField('tcp_connect_spend', (t) => t.tcpConnectSpend),
  ['reason', (t) => t.reason ?? t.error?.reason ?? 'Finished'],
  ['ftp_c_bound_addr', (t) => str(ftpOf(t)?.ftpC.boundAddr), FTP],
  ['ftp_c_peer_addr', (t) => str(ftpOf(t)?.ftpC.peerAddr), FTP],
  ['ftp_c_connect_tries', (t) => { const n = ftpOf(t)?.ftpC.connectTries; return n ? n : undefined; }, FTP],
  durField('ftp_c_connect_spend', (t) => ftpOf(t)?.ftpC.connectSpend, FTP),
  ['ftp_d_bound_addr', (t) => str(ftpOf(t)?.ftpD.boundAddr), FTP],
  ['ftp_d_peer_addr', (t) => str(ftpOf(t)?.ftpD.peerAddr), FTP],
  ['ftp_d_connect_tries', (t) => { const n = ftpOf(t)?.ftpD.connectTries; return n ? n : undefined; }, FTP],
  durField('ftp_d_connect_spend', (t) => ftpOf(t)?.ftpD.connectSpend, FTP),
  durField('pipeline_wait', (t) => httpOf(t)?.pipelineWait, HTTP),
  ['reuse_connection', (t) => httpOf(t)?.reuseConnection, HTTP],
  ['method', (t) => str(reqOf(t)?.method), REQ],
  ['uri', (t) => str(reqOf(t)?.uri), REQ],
  ['user_agent', (t) => str(reqOf(t)?.userAgent), REQ],
  ['rsp_status', (t) => { const h = httpOf(t); return h ? (h.rspStatus ?? 0) : ftpOf(t)?.rspStatus; }, REQ],
  ['origin_status', (t) => { const h = httpOf(t); return h ? (h.originStatus ?? 0) : undefined; }, HTTP],
  durField('wait_time', (t) => t.waitTime),
  durField('ready_time', (t) => t.readyTime),
  durField('dur_req_send_hdr', (t) => httpOf(t)?.durReqSendHdr, HTTP),
  durField('dur_req_send_all', (t) => httpOf(t)?.durReqSendAll, HTTP),
  durField('dur_rsp_recv_hdr', (t) => httpOf(t)?.durRspRecvHdr, HTTP),
  durField('dur_rsp_recv_all', (t) => httpOf(t)?.durRspRecvAll, HTTP),
  durField('total_time', (_t, total) => total),
  ['tcp_server_addr', (t) => str(udpOf(t)?.tcpServerAddr), UDP],
  ['tcp_client_addr', (t) => str(udpOf(t)?.tcpClientAddr), UDP],
  ['udp_listen_addr', (t) => str(udpOf(t)?.udpServerAddr), UDP],
  ['udp_client_addr', (t) => str(udpOf(t)?.udpClientAddr), UDP],
  ['initial_peer', (t) => str(udpOf(t)?.initialPeer), UDP],
  ['next_expire', (t) => str(udpOf(t)?.nextExpire), UDP],
  ['c_rd_packets', (t) => udpOf(t)?.cRdPackets, UDP],
  ['c_wr_packets', (t) => udpOf(t)?.cWrPackets, UDP],
  ['r_rd_packets', (t) => udpOf(t)?.rRdPackets, UDP],
  ['r_wr_packets', (t) => udpOf(t)?.rWrPackets, UDP],
  ['c_rd_bytes', (t) => t.cRdBytes],
  ['c_wr_bytes', (t) => t.cWrBytes],
  ['r_rd_bytes', (t) => (ftpOf(t) ? undefined : t.rRdBytes), NOT_FTP],
  ['r_wr_bytes', (t) => (ftpOf(t) ? undefined : t.rWrBytes), NOT_FTP],
  ['ftp_c_rd_bytes', (t) => ftpOf(t)?.ftpCRdBytes, FTP],
  ['ftp_c_wr_bytes', (t) => ftpOf(t)?.ftpCWrBytes, FTP],
  ['ftp_d_rd_bytes', (t) => ftpOf(t)?.ftpDRdBytes, FTP],
  ['ftp_d_wr_bytes', (t) => ftpOf(t)?.ftpDWrBytes, FTP],
];

const byKind = new Map<TaskKind, ReadonlyArray<TaskField>>();
/** TASK_FIELDS narrowed to the fields a task class can have (computed once per class). */
export function taskFieldsFor(kind: TaskKind): ReadonlyArray<TaskField> {
  let f = byKind.get(kind);
  if (!f) byKind.set(kind, (f = TASK_FIELDS.filter(([, , scope]) => !scope || scope.includes(kind))));
  return f;
}

export function taskLogFields(t: TaskContext, totalMs: number): Fields {
  const f: Fields = [];
  const fields = taskFieldsFor(taskKindOf(t));
  for (let i = 0; i < fields.length; i++) {
    const [k, get] = fields[i]!;
    const v = get(t, totalMs);
    if (v !== undefined) f.push([k, v]);
  }
  return f;
}

/** Finish a task exactly once: stage, log record. Returns false if it was already finished. */
export function finishTask(t: TaskContext, logger: Logger): boolean {
  if (t.finished) return false;
  t.finished = true;
  if (t.eventsRelaying) t.events!.finished(t);
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
