/**
 * Writes the one task log record of a finished task, with g3's field names and value formats
 * (zero durations and unset values omitted).
 */
import { formatDuration, formatTimestamp } from '../log/format.js';
import type { Logger } from '../log/hub.js';
import type { LogValue } from '../log/record.js';
import { HttpForwardTask } from './http-task.js';
import { formatUpstream, type TaskContext } from './task.js';

type Fields = Array<[string, LogValue]>;

function put(f: Fields, k: string, v: LogValue | undefined): void {
  if (v !== undefined && v !== '') f.push([k, v]);
}
function putDur(f: Fields, k: string, ms: number | undefined): void {
  if (ms !== undefined && ms > 0) f.push([k, formatDuration(ms)]);
}

export function taskLogFields(t: TaskContext, totalMs: number): Fields {
  const f: Fields = [];
  put(f, 'server_type', t.serverType);
  put(f, 'server_name', t.serverName);
  put(f, 'task_type', t.taskType);
  put(f, 'task_id', t.id);
  put(f, 'task_event', 'Finished');
  put(f, 'stage', t.stage);
  put(f, 'start_at', formatTimestamp(t.startAt));
  put(f, 'user', t.user);
  put(f, 'escaper', t.escaper);
  put(f, 'reason', t.reason ?? t.error?.reason ?? 'Finished');
  putDur(f, 'wait_time', t.waitTime);
  putDur(f, 'ready_time', t.readyTime);
  putDur(f, 'total_time', totalMs);
  put(f, 'server_addr', t.serverAddr);
  put(f, 'client_addr', t.clientAddr);
  put(f, 'upstream', t.upstream ? formatUpstream(t.upstream) : undefined);
  put(f, 'next_bind_ip', t.nextBindIp);
  put(f, 'next_bound_addr', t.nextBoundAddr);
  put(f, 'next_peer_addr', t.nextPeerAddr);
  if (t.tcpConnectTries > 0) put(f, 'tcp_connect_tries', t.tcpConnectTries);
  putDur(f, 'tcp_connect_spend', t.tcpConnectSpend);
  f.push(['c_rd_bytes', t.cRdBytes], ['c_wr_bytes', t.cWrBytes], ['r_rd_bytes', t.rRdBytes], ['r_wr_bytes', t.rWrBytes]);
  if (t instanceof HttpForwardTask) {
    putDur(f, 'pipeline_wait', t.pipelineWait);
    put(f, 'reuse_connection', t.reuseConnection);
    put(f, 'method', t.method);
    put(f, 'uri', t.uri);
    put(f, 'user_agent', t.userAgent);
    put(f, 'rsp_status', t.rspStatus);
    put(f, 'origin_status', t.originStatus);
    putDur(f, 'dur_req_send_hdr', t.durReqSendHdr);
    putDur(f, 'dur_req_send_all', t.durReqSendAll);
    putDur(f, 'dur_rsp_recv_hdr', t.durRspRecvHdr);
    putDur(f, 'dur_rsp_recv_all', t.durRspRecvAll);
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
  logger.log('Task', taskLogFields(t, total), msg, t.error ? 'warn' : 'info');
  return true;
}
