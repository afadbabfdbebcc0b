/**
 * The task log records a task writes while it is alive, beside its finish record: Created, Connected and
 * Periodic (each switched on by a server key, off by default) and ClientShutdown / UpstreamShutdown (a tunnel
 * whose one side closed first; written when any of the keys is set, see `shutdown`). Each event has its own fixed key set per
 * task type, as g3proxy/src/log/task/*.rs writes it.
 *
 * Cost with the keys off: a task carries a pointer to its server's TaskEvents and `markWait` / `markReady`
 * test one boolean each; no timer runs and nothing is allocated.
 */
import { parseDuration } from '@sluice/common';
import type { Logger } from '../log/hub.js';
import type { LogValue } from '../log/record.js';
import type { ParseContext } from '../runtime/object-def.js';
import { bool, g3, type FieldSchema } from '../runtime/schema-util.js';
import { TASK_FIELDS, type TaskFieldGetter } from './task-log.js';
import type { TaskContext, TaskType } from './task.js';

export type TaskEvent = 'Created' | 'Connected' | 'Periodic' | 'ClientShutdown' | 'UpstreamShutdown' | 'Finished';

/** The three server keys (http_proxy, http_rproxy, socks_proxy, tcp_stream, tls_stream, sni_proxy). */
export interface TaskLogEventsConfig {
  readonly onCreated: boolean;
  readonly onConnected: boolean;
  /** undefined = no Periodic records */
  readonly flushIntervalMs: number | undefined;
}

export const TASK_LOG_EVENTS_OFF: TaskLogEventsConfig = Object.freeze({ onCreated: false, onConnected: false, flushIntervalMs: undefined });

export const taskLogEventFields: Record<string, FieldSchema> = {
  flush_task_log_on_created: bool('Write a task log record with `task_event: Created` as each task starts, before it connects (default false).'),
  flush_task_log_on_connected: bool('Write a task log record with `task_event: Connected` once the task\'s upstream is connected and it starts relaying (default false).'),
  task_log_flush_interval: g3('duration', 'While a task relays, write a task log record with `task_event: Periodic` at this interval, carrying the running byte counters (default: none).'),
};

export function parseTaskLogEvents(v: Record<string, unknown>, ctx: ParseContext): TaskLogEventsConfig {
  const onCreated = v.flush_task_log_on_created === true;
  const onConnected = v.flush_task_log_on_connected === true;
  let flushIntervalMs: number | undefined;
  if (v.task_log_flush_interval !== undefined) {
    try {
      flushIntervalMs = parseDuration(v.task_log_flush_interval);
    } catch (e) {
      ctx.fail(['task_log_flush_interval'], (e as Error).message);
    }
    // a zero interval would spin: treat it as unset
    if (flushIntervalMs !== undefined && flushIntervalMs <= 0) flushIntervalMs = undefined;
  }
  if (!onCreated && !onConnected && flushIntervalMs === undefined) return TASK_LOG_EVENTS_OFF;
  return Object.freeze({ onCreated, onConnected, flushIntervalMs });
}

type EventKind = 'Created' | 'Connected' | 'Periodic' | 'Shutdown';

/*
 * Key lists per task type and event, in g3's order. server_type / server_name come first as on every record
 * (g3 puts them on the logger). Values come from the finish record's getters (TASK_FIELDS), so a key means the
 * same thing on every record of a task.
 */
const HEAD = ['server_type', 'server_name', 'task_type', 'task_id', 'task_event', 'stage', 'start_at', 'user'];
const TCP_ADDRS = ['server_addr', 'client_addr', 'upstream'];
const TCP_NEXT = ['escaper', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire', 'tcp_connect_tries', 'tcp_connect_spend'];
const BYTES = ['c_rd_bytes', 'c_wr_bytes', 'r_rd_bytes', 'r_wr_bytes'];
const HTTP_REQ = ['method', 'uri', 'user_agent'];
const HTTP_DURS = ['dur_req_send_hdr', 'dur_req_send_all', 'dur_rsp_recv_hdr', 'dur_rsp_recv_all'];
const FTP_C = ['ftp_c_bound_addr', 'ftp_c_peer_addr', 'ftp_c_connect_tries', 'ftp_c_connect_spend'];
const FTP_D = ['ftp_d_bound_addr', 'ftp_d_peer_addr', 'ftp_d_connect_tries', 'ftp_d_connect_spend'];
const UDP_TCP = ['tcp_server_addr', 'tcp_client_addr'];
const UDP_ADDRS = [...UDP_TCP, 'udp_listen_addr', 'udp_client_addr'];
const UDP_COUNTERS = ['c_rd_bytes', 'c_rd_packets', 'c_wr_bytes', 'c_wr_packets', 'r_rd_bytes', 'r_rd_packets', 'r_wr_bytes', 'r_wr_packets'];

const KEYS: Record<TaskType, Partial<Record<EventKind, readonly string[]>>> = {
  TcpConnect: {
    Created: [...HEAD, ...TCP_ADDRS, 'wait_time'],
    Connected: [...HEAD, ...TCP_ADDRS, ...TCP_NEXT, 'wait_time', 'ready_time'],
    Periodic: [...HEAD, ...TCP_ADDRS, ...TCP_NEXT, 'wait_time', 'ready_time', 'total_time', ...BYTES],
    // g3's partial-shutdown record has no next_bind_ip and no tcp_connect_* keys
    Shutdown: [...HEAD, ...TCP_ADDRS, 'escaper', 'next_bound_addr', 'next_peer_addr', 'next_expire', 'wait_time', 'ready_time', 'total_time', ...BYTES],
  },
  HttpForward: {
    Created: [...HEAD, ...TCP_ADDRS, 'pipeline_wait', ...HTTP_REQ, 'wait_time'],
    Connected: [...HEAD, ...TCP_ADDRS, ...TCP_NEXT, 'pipeline_wait', 'reuse_connection', ...HTTP_REQ, 'wait_time', 'ready_time'],
    // unlike the finish record, g3 writes total_time before the dur_* keys here
    Periodic: [...HEAD, ...TCP_ADDRS, ...TCP_NEXT, 'pipeline_wait', 'reuse_connection', ...HTTP_REQ, 'rsp_status', 'origin_status',
      'wait_time', 'ready_time', 'total_time', ...HTTP_DURS, ...BYTES],
  },
  FtpOverHttp: {
    Created: [...HEAD, ...TCP_ADDRS, ...HTTP_REQ, 'wait_time'],
    Connected: [...HEAD, ...TCP_ADDRS, 'escaper', 'next_bind_ip', 'next_expire', ...FTP_C, ...HTTP_REQ, 'rsp_status',
      'wait_time', 'ready_time', 'ftp_c_rd_bytes', 'ftp_c_wr_bytes'],
    Periodic: [...HEAD, ...TCP_ADDRS, 'escaper', 'next_bind_ip', 'next_expire', ...FTP_C, ...FTP_D, ...HTTP_REQ, 'rsp_status',
      'wait_time', 'ready_time', 'total_time', 'c_rd_bytes', 'c_wr_bytes', 'ftp_c_rd_bytes', 'ftp_c_wr_bytes', 'ftp_d_rd_bytes', 'ftp_d_wr_bytes'],
  },
  UdpAssociate: {
    Created: [...HEAD, ...UDP_TCP, 'wait_time'],
    Connected: [...HEAD, ...UDP_ADDRS, 'initial_peer', 'escaper', 'wait_time', 'ready_time', 'c_rd_bytes', 'c_rd_packets'],
    Periodic: [...HEAD, ...UDP_ADDRS, 'initial_peer', 'escaper', 'wait_time', 'ready_time', 'total_time', ...UDP_COUNTERS],
  },
  UdpConnect: {
    Created: [...HEAD, ...UDP_TCP, 'wait_time'],
    Connected: [...HEAD, ...UDP_ADDRS, 'upstream', 'escaper', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire',
      'wait_time', 'ready_time', 'c_rd_bytes', 'c_rd_packets'],
    Periodic: [...HEAD, ...UDP_ADDRS, 'upstream', 'escaper', 'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'next_expire',
      'wait_time', 'ready_time', 'total_time', ...UDP_COUNTERS],
  },
};

const GETTERS = new Map<string, TaskFieldGetter>(TASK_FIELDS.map(([k, get]) => [k, get]));

type EventField = readonly [key: string, get: TaskFieldGetter];
const compiled = new Map<string, readonly EventField[]>();

/** The key list of one event record of a task type, with its getters (built once per pair). */
export function eventFields(taskType: TaskType, event: TaskEvent): readonly EventField[] | undefined {
  const kind: EventKind | undefined = event === 'ClientShutdown' || event === 'UpstreamShutdown' ? 'Shutdown'
    : event === 'Finished' ? undefined : event;
  if (!kind) return undefined;
  const id = `${taskType}/${event}`;
  let f = compiled.get(id);
  if (f) return f;
  const keys = KEYS[taskType][kind];
  if (!keys) return undefined;
  f = keys.map((k): EventField => {
    if (k === 'task_event') return [k, () => event];
    // g3 writes Created as the task starts and Connected as it enters the Connected stage, so those records
    // always carry that stage, whatever stage sluice's flow set just before the hook ran
    if (k === 'stage' && (event === 'Created' || event === 'Connected')) return [k, () => event];
    const get = GETTERS.get(k);
    if (!get) throw new Error(`task log key ${k} has no getter`);
    return [k, get];
  });
  compiled.set(id, f);
  return f;
}

/** The fields of one event record of a task, now. */
export function taskEventFields(t: TaskContext, event: TaskEvent): Array<[string, LogValue]> | undefined {
  const fields = eventFields(t.taskType, event);
  if (!fields) return undefined;
  const total = t.elapsed();
  const out: Array<[string, LogValue]> = [];
  for (const [k, get] of fields) {
    const v = get(t, total);
    if (v !== undefined) out.push([k, v]);
  }
  return out;
}

/**
 * One server's task events: its keys, the logger, and the tasks due Periodic records. Periodic records come
 * from one interval timer per server walking its relaying tasks (not a timer per task); a task's first Periodic
 * record therefore comes within one interval of it starting to relay, not exactly one interval after.
 */
export class TaskEvents {
  private cfg: TaskLogEventsConfig = TASK_LOG_EVENTS_OFF;
  private readonly relaying = new Set<TaskContext>();
  private timer: NodeJS.Timeout | undefined;
  private timerMs: number | undefined;

  constructor(private readonly logger: () => Logger) {}

  /** some key is on (Connected or Periodic records can be due) */
  active = false;

  get config(): TaskLogEventsConfig {
    return this.cfg;
  }

  /** Apply (new) keys; starts, re-arms or stops the periodic timer. */
  configure(cfg: TaskLogEventsConfig | undefined): void {
    this.cfg = cfg ?? TASK_LOG_EVENTS_OFF;
    this.active = this.cfg !== TASK_LOG_EVENTS_OFF;
    const ms = this.cfg.flushIntervalMs;
    if (ms === this.timerMs) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.timerMs = ms;
    if (ms === undefined) {
      for (const t of this.relaying) t.eventsRelaying = false;
      this.relaying.clear();
      return;
    }
    this.timer = setInterval(this.flushPeriodic, ms);
    this.timer.unref();
  }

  /** The task starts: handed to its escaper (markWait), or set up by a server that calls it earlier. Logs once. */
  created(t: TaskContext): void {
    if (!this.cfg.onCreated || t.eventsCreated || t.skipLog) return;
    t.eventsCreated = true;
    this.write(t, 'Created');
  }

  /** The task is connected and starts relaying (markReady; may be called again, logs once). */
  connected(t: TaskContext): void {
    if (t.eventsConnected) return;
    t.eventsConnected = true;
    if (this.cfg.onConnected && !t.skipLog) this.write(t, 'Connected');
    if (this.cfg.flushIntervalMs !== undefined && !t.finished) {
      t.eventsRelaying = true;
      this.relaying.add(t);
    }
  }

  /**
   * One side of a tunnel closed while the other goes on. Written whatever the keys say, as g3 does: a g3 log
   * pipeline sees the same records from sluice.
   */
  shutdown(t: TaskContext, event: 'ClientShutdown' | 'UpstreamShutdown'): void {
    this.write(t, event);
  }

  /** The task finished: no more Periodic records for it. */
  finished(t: TaskContext): void {
    t.eventsRelaying = false;
    this.relaying.delete(t);
  }

  /** Stop the timer and forget the tasks (server destroyed). */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.timerMs = undefined;
    for (const t of this.relaying) t.eventsRelaying = false;
    this.relaying.clear();
  }

  get relayingCount(): number {
    return this.relaying.size;
  }

  private readonly flushPeriodic = (): void => {
    for (const t of this.relaying) if (!t.skipLog) this.write(t, 'Periodic');
  };

  private write(t: TaskContext, event: TaskEvent): void {
    const logger = this.logger();
    if (!logger.enabled) return;
    const fields = taskEventFields(t, event);
    if (fields) logger.log('Task', fields, '', 'info');
  }
}
