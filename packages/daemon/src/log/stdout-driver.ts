/**
 * The `stdout` log driver, in g3's stdout format (lib/g3-stdlog):
 * `<Mmm dd hh:mm:ss.mmm> <LEVEL> <msg>, key: value, key: value...` — the message first (empty for most task
 * logs, which leaves `INFO , key: ...`), then every key sorted, values written bare. The one liberty: a CR or
 * LF inside a value is written as `\r`/`\n`, so one record stays one line.
 *
 * process.stdout is synchronous for pipes and files on Linux, so records are batched per event-loop turn and
 * written through one async fd stream shared by every stdout logger; when the reader cannot keep up, the queue
 * is bounded and the excess is dropped and counted (a slow log reader must never stall proxied traffic).
 */
import { createWriteStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { formatStdoutTime } from './format.js';
import type { TaskContext } from '../task/task.js';
import { TASK_FIELDS } from '../task/task-log.js';
import { countDrop, LEVEL_SHORT, type LogDriver, type LogRecord, type LoggerStats, type LogValue } from './record.js';

const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

function valueText(v: LogValue): string {
  if (typeof v !== 'string') return String(v);
  return v.includes('\n') || v.includes('\r') ? v.replaceAll('\r', '\\r').replaceAll('\n', '\\n') : v;
}

const byKey = (a: [string, LogValue], b: [string, LogValue]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function formatStdoutLine(r: LogRecord): string {
  const fields = r.fields.sort(byKey); // the record is ours alone: sort in place
  let line = `${formatStdoutTime(r.ts)} ${LEVEL_SHORT[r.level]} ${valueText(r.msg)}`;
  for (const [k, v] of fields) line += `, ${k}: ${valueText(v)}`;
  return line + '\n';
}

/** Flush at least this often; and at once when this many bytes are waiting. */
const FLUSH_INTERVAL_MS = 20;
const FLUSH_BYTES = 64 * 1024;

/**
 * One writer per fd, shared by all stdout loggers so their lines never interleave mid-line.
 *
 * A pipe or socket on the fd is written as a non-blocking stream on the event loop (no thread hop per write);
 * a file goes through an fs stream (libuv's thread pool). Either way lines are gathered and written in
 * batches, every FLUSH_INTERVAL_MS or every FLUSH_BYTES, so a busy proxy makes few large writes instead of
 * one per request.
 */
class FdSink {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly out: Writable;
  constructor(fd: number) {
    let streamy = false;
    try {
      const st = fstatSync(fd); // once, at start
      streamy = st.isFIFO() || st.isSocket();
    } catch {
      /* a closed fd: the fs stream below reports it and we drop records */
    }
    this.out = streamy ? new Socket({ fd, readable: false, writable: true }) : createWriteStream('', { fd, autoClose: false });
    this.out.on('error', () => {
      /* a closed stdout must not kill the daemon; records are dropped from now on */
    });
  }
  get full(): boolean {
    return this.out.writableLength > MAX_QUEUED_BYTES || this.out.destroyed;
  }
  push(line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(this.flush, FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }
  private readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.out.write(chunk);
  };
  drained(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.out.writableLength === 0) return resolve();
      const t = setTimeout(resolve, 1000);
      t.unref();
      this.out.once('drain', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

const sinks = new Map<number, FdSink>();
function sinkFor(fd: number): FdSink {
  let s = sinks.get(fd);
  if (!s) sinks.set(fd, (s = new FdSink(fd)));
  return s;
}

/** A driver that formats a task's finish record straight from the task (no intermediate field list). */
export interface TaskLineWriter {
  writeTask(t: TaskContext, totalMs: number, msg: string, common: { daemonName: string; pid: number }): void;
}

type LineGetter = (t: TaskContext, totalMs: number, c: { daemonName: string; pid: number }) => LogValue | undefined;

/** TASK_FIELDS plus the logger-wide keys, sorted by key as the stdout format wants: sorted once, not per line. */
let sortedTaskFields: Array<readonly [string, LineGetter]> | undefined;
function sortedFields(): Array<readonly [string, LineGetter]> {
  if (!sortedTaskFields) {
    const all: Array<readonly [string, LineGetter]> = [
      ['daemon_name', (_t, _n, c) => c.daemonName],
      ['log_type', () => 'Task'],
      ['pid', (_t, _n, c) => c.pid],
      ...TASK_FIELDS.map(([k, g]) => [k, (t: TaskContext, n: number) => g(t, n)] as const),
    ];
    sortedTaskFields = all.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  return sortedTaskFields;
}

export class StdoutDriver implements LogDriver, TaskLineWriter {
  readonly name = 'stdout';
  private readonly sink: FdSink;

  constructor(private readonly stats: LoggerStats, fd = 1) {
    this.sink = sinkFor(fd);
  }

  write(record: LogRecord): void {
    this.stats.total++;
    if (this.sink.full) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    const line = formatStdoutLine(record);
    this.sink.push(line);
    this.stats.pass++;
    this.stats.passBytes += Buffer.byteLength(line);
  }

  writeTask(t: TaskContext, totalMs: number, msg: string, common: { daemonName: string; pid: number }): void {
    this.stats.total++;
    if (this.sink.full) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    const fields = sortedFields();
    let line = `${formatStdoutTime(Date.now())} ${LEVEL_SHORT.info} ${valueText(msg)}`;
    for (let i = 0; i < fields.length; i++) {
      const [k, get] = fields[i]!;
      const v = get(t, totalMs, common);
      if (v !== undefined) line += `, ${k}: ${valueText(v)}`;
    }
    line += '\n';
    this.sink.push(line);
    this.stats.pass++;
    this.stats.passBytes += line.length;
  }

  close(): Promise<void> {
    return this.sink.drained();
  }
}

export class DiscardDriver implements LogDriver {
  readonly name = 'discard';
  constructor(private readonly stats: LoggerStats) {}
  write(): void {
    this.stats.total++;
    this.stats.drop++;
  }
  async close(): Promise<void> {}
}
