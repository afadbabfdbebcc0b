/**
 * The Intercept records of an HTTP/2 interception, with the fields and order of g3's inspect/http/v2 loggers:
 * H2Connection (once per connection), H2StreamForward / H2Connect / H2ExtendedConnect (once per stream), H2Ping.
 * `auditor_name` is the caller's to add. Durations and unset values are left out; statuses are always written
 * (0 = none), as g3 writes its integers.
 */
import { formatDuration, formatTimestamp } from '../../log/format.js';
import type { LogValue } from '../../log/record.js';

export type InterceptFields = Array<[string, LogValue]>;
/** Receives one Intercept record: its fields and its message (`finished` or what went wrong). */
export type H2InterceptLog = (fields: InterceptFields, msg: string) => void;

export type H2StreamKind = 'H2StreamForward' | 'H2Connect' | 'H2ExtendedConnect';

/** What one client stream's exchange noted; durations are ms since `t0`, 0 = not reached. */
export class H2StreamNotes {
  upsStream = 0;
  readyTime = 0;
  rspStatus = 0;
  originStatus = 0;
  durReqSendHdr = 0;
  durReqSendAll = 0;
  durRspRecvHdr = 0;
  durRspRecvAll = 0;
  /** H2Connect / H2ExtendedConnect: the tunnel's target */
  nextUpstream: string | undefined;
  /** H2ExtendedConnect: the `:protocol` */
  nextProtocol: string | undefined;
  readonly startedAt = Date.now();
  readonly t0 = performance.now();

  constructor(
    readonly kind: H2StreamKind,
    readonly cltStream: number,
    readonly method: string,
    readonly uri: string,
  ) {}

  since(): number {
    return performance.now() - this.t0;
  }
}

function pushDur(f: InterceptFields, key: string, ms: number): void {
  if (ms > 0) f.push([key, formatDuration(ms)]);
}

export function streamRecord(taskId: string, depth: number, n: H2StreamNotes): InterceptFields {
  const f: InterceptFields = [
    ['intercept_type', n.kind],
    ['task_id', taskId],
    ['depth', depth],
    ['clt_stream', n.cltStream],
  ];
  if (n.upsStream > 0) f.push(['ups_stream', n.upsStream]);
  if (n.kind === 'H2ExtendedConnect' && n.nextProtocol) f.push(['next_protocol', n.nextProtocol]);
  if (n.kind !== 'H2StreamForward' && n.nextUpstream) f.push(['next_upstream', n.nextUpstream]);
  f.push(['started_at', formatTimestamp(n.startedAt)]);
  if (n.kind === 'H2StreamForward') {
    f.push(['method', n.method]);
    if (n.uri) f.push(['uri', n.uri]);
  }
  pushDur(f, 'ready_time', n.readyTime);
  f.push(['rsp_status', n.rspStatus], ['origin_status', n.originStatus]);
  pushDur(f, 'dur_req_send_hdr', n.durReqSendHdr);
  if (n.kind === 'H2StreamForward') pushDur(f, 'dur_req_send_all', n.durReqSendAll);
  pushDur(f, 'dur_rsp_recv_hdr', n.durRspRecvHdr);
  if (n.kind === 'H2StreamForward') pushDur(f, 'dur_rsp_recv_all', n.durRspRecvAll);
  return f;
}

export function connectionRecord(taskId: string, depth: number, upstream: string, total: number, alive: number): InterceptFields {
  return [
    ['intercept_type', 'H2Connection'],
    ['task_id', taskId],
    ['depth', depth],
    ['upstream', upstream],
    ['total_sub_task', total],
    ['alive_sub_task', alive],
  ];
}

export function pingRecord(taskId: string, depth: number, upstream: string, rttMs: number, total: number, alive: number): InterceptFields {
  const f: InterceptFields = [
    ['intercept_type', 'H2Ping'],
    ['task_id', taskId],
    ['depth', depth],
    ['upstream', upstream],
  ];
  pushDur(f, 'rtt', rttMs);
  f.push(['total_sub_task', total], ['alive_sub_task', alive]);
  return f;
}
