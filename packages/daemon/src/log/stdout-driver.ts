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
import { formatDurationUtf8Bytes, formatStdoutTime } from './format.js';
import type { TaskContext } from '../task/task.js';
import { taskFieldsFor, taskKindOf, type TaskDurationGetter, type TaskKind } from '../task/task-log.js';
import { countDrop, LEVEL_SHORT, type LogRecord, type LoggerStats, type LogValue } from './record.js';
import { DriverTransport } from './transport.js';

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

/**
 * How a line looks: `g3` is g3's stdout format (above); `process` is the daemon's own stderr format,
 * `<RFC 3339 time> <LEVEL> <msg>`; `priority` is `<N><msg>` with the syslog priority journald reads on a
 * service's stderr stream (`sluice -s`). Fields, if any, follow as `, key: value` in the last two.
 */
export type StdoutLineStyle = 'g3' | 'process' | 'priority';

export interface StdoutDriverOptions {
  lineStyle?: StdoutLineStyle;
  /** write through this sink instead of the fd's shared one (tests) */
  sink?: FdSink;
  /**
   * Write each line at once through this function instead of batching it onto the fd. For the process log:
   * few lines, which must be out before the process exits (process.stderr.write is synchronous for pipes and
   * files).
   */
  writeLine?: (line: string) => void;
}

/** journald priorities of the process log (info is 6 here, as slog → journald maps it; the task drivers use 5) */
const PROCESS_PRIORITY: Record<LogRecord['level'], number> = { error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

export function formatProcessLine(r: LogRecord, priority: boolean): string {
  let line = priority ? `<${PROCESS_PRIORITY[r.level]}>${valueText(r.msg)}` : `${new Date(r.ts).toISOString()} ${r.level.toUpperCase()} ${valueText(r.msg)}`;
  for (const [k, v] of r.fields) line += `, ${k}: ${valueText(v)}`;
  return line + '\n';
}

/** Flush at least this often; and at once when the batch buffer cannot take the next line. */
const FLUSH_INTERVAL_MS = 20;
const BATCH_BYTES = 64 * 1024;

/**
 * One writer per fd, shared by all stdout loggers so their lines never interleave mid-line.
 *
 * A pipe or socket on the fd is written as a non-blocking stream on the event loop (no thread hop per write);
 * a file goes through an fs stream (libuv's thread pool). Either way lines are gathered and written in
 * batches, every FLUSH_INTERVAL_MS or every BATCH_BYTES, so a busy proxy makes few large writes instead of
 * one per request.
 *
 * Each line is encoded into the batch buffer the moment it is pushed, so no line string outlives the task that
 * made it: strings held until a flush would survive young-generation collections and be copied and promoted,
 * which cost more (mostly on V8's GC threads, invisible in a main-thread profile) than formatting them did.
 */
export class FdSink {
  private batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly out: Writable;
  /** `target`: the fd to write (1 for stdout), or a stream (tests) */
  constructor(target: number | Writable) {
    if (typeof target !== 'number') {
      this.out = target;
    } else {
      let streamy = false;
      try {
        const st = fstatSync(target); // once, at start
        streamy = st.isFIFO() || st.isSocket();
      } catch {
        /* a closed fd: the fs stream below reports it and we drop records */
      }
      this.out = streamy ? new Socket({ fd: target, readable: false, writable: true }) : createWriteStream('', { fd: target, autoClose: false });
    }
    this.out.on('error', () => {
      /* a closed stdout must not kill the daemon; records are dropped from now on */
    });
  }
  get full(): boolean {
    return this.out.writableLength > MAX_QUEUED_BYTES || this.out.destroyed;
  }
  /**
   * Queue one line (with `addNewline`, its newline is added here); returns its size in bytes. `latin1`: the
   * line's chars are its bytes (its non-ASCII text already UTF-8 encoded, one byte per char).
   */
  push(line: string, addNewline = false, latin1 = false): number {
    const encoding = latin1 ? 'latin1' : 'utf8';
    // a UTF-16 unit is at most 3 UTF-8 bytes: flush first unless the line surely fits
    const most = line.length * (latin1 ? 1 : 3) + (addNewline ? 1 : 0);
    if (most > BATCH_BYTES - this.used) {
      this.flush();
      if (most > BATCH_BYTES) {
        const big = Buffer.from(addNewline ? `${line}\n` : line, encoding);
        this.out.write(big);
        return big.length;
      }
    }
    let n = this.batch.write(line, this.used, encoding);
    if (addNewline) this.batch[this.used + n++] = 0x0a;
    this.used += n;
    if (!this.timer) {
      this.timer = setTimeout(this.flush, FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
    return n;
  }
  private readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    // the stream keeps the buffer until the write is done: hand it over and start a fresh one
    this.out.write(this.batch.subarray(0, this.used));
    this.batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.used = 0;
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

type Common = { daemonName: string; pid: number };
type LineGetter = (t: TaskContext, totalMs: number) => LogValue | undefined;

/**
 * Formats the `, key: value` part of a task's line (the keys sorted; undefined values left out). A `bytes`
 * formatter returns null when a value is not ASCII (the caller then uses the text one).
 */
type FieldsFormatter = (t: TaskContext, totalMs: number) => string | null;

/**
 * Keys whose string values sluice makes itself and are always ASCII (names of enums, hex ids, IP addresses,
 * timestamps). Every other string value is checked before a line goes out on the latin1 fast path.
 */
const ASCII_VALUE_KEYS = new Set([
  'server_type', 'task_type', 'task_id', 'task_event', 'stage', 'start_at', 'server_addr', 'client_addr',
  'next_bind_ip', 'next_bound_addr', 'next_peer_addr', 'reason',
]);

/** true when every UTF-16 unit of `s` is ASCII (~1 ns a char; the checked values are short) */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Compiles a task class's formatter for one logger: TASK_FIELDS narrowed to the class (taskFieldsFor) plus the
 * logger-wide keys, sorted by key as the stdout format wants, as one straight-line function. Each getter is then
 * called from its own call site, which V8 can inline, instead of all of them from one megamorphic site in a
 * loop; in the running proxy (caches cold between two tasks) the loop cost several times what the same loop
 * cost in a tight benchmark. Fields whose value cannot change — the logger's daemon_name and pid, and getters
 * taking no argument (`log_type`, `task_event`) — are formatted once, into the literal text between the
 * variable ones. Only indices, the fixed key names and JSON-quoted constants go into the generated source.
 *
 * `bytes`: the line is to be written with the latin1 encoding, one byte per char, which V8 copies straight
 * into the buffer. UTF-8 encoding is that copy only for ASCII text: the `µ` of g3's durations sends a line
 * down V8's per-character path (~0.6 µs a line). So durations are formatted with `µ` already as its two UTF-8
 * bytes, constants are pre-encoded the same way, and a string value that could hold other non-ASCII text
 * (names, user, host, URI, user agent) makes the formatter return null.
 */
function compileFormatter(kind: TaskKind, common: Common, bytes: boolean): FieldsFormatter {
  const all: Array<readonly [string, LineGetter, TaskDurationGetter | undefined]> = [
    ['daemon_name', () => common.daemonName, undefined],
    ['log_type', () => 'Task', undefined],
    ['pid', () => common.pid, undefined],
    ...taskFieldsFor(kind).map(([k, g, , ms]) => [k, g, ms] as const),
  ];
  all.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const getters: Array<LineGetter | TaskDurationGetter> = [];
  let body = 'let s = "", v;\n';
  let literal = '';
  const flushLiteral = (): void => {
    if (literal) body += `s += ${JSON.stringify(bytes ? Buffer.from(literal, 'utf8').toString('latin1') : literal)};\n`;
    literal = '';
  };
  for (const [k, g, ms] of all) {
    if (!/^[a-z0-9_]+$/.test(k)) throw new Error(`task log key ${JSON.stringify(k)} is not a plain name`);
    if (g.length === 0) {
      const v = (g as () => LogValue | undefined)();
      if (v !== undefined) literal += `, ${k}: ${valueText(v)}`;
      continue;
    }
    flushLiteral();
    const i = getters.length;
    if (bytes && ms) {
      body += `v = g[${i}](t, n); if (v !== undefined && v > 0) s += ", ${k}: " + d(v);\n`;
      getters.push(ms);
    } else if (bytes && !ASCII_VALUE_KEYS.has(k)) {
      body += `v = g[${i}](t, n); if (v !== undefined) { if (typeof v === "string" && !a(v)) return null; s += ", ${k}: " + v; }\n`;
      getters.push(g);
    } else {
      body += `v = g[${i}](t, n); if (v !== undefined) s += ", ${k}: " + v;\n`;
      getters.push(g);
    }
  }
  flushLiteral();
  body += 'return s;';
  // the getters are bound once as constants of the closure, so each `g[i]` site keeps seeing one function
  return new Function('g', 'd', 'a', `return function taskFields(t, n) {\n${body}\n};`)(Object.freeze(getters), formatDurationUtf8Bytes, isAscii) as FieldsFormatter;
}

export class StdoutDriver extends DriverTransport implements TaskLineWriter {
  readonly name = 'stdout';
  /** compiled task-line formatters, for the logger-wide values they were compiled with */
  private formatters = new Map<TaskKind, { bytes: FieldsFormatter; text: FieldsFormatter }>();
  private formattersFor: Common | undefined;
  private readonly sink: FdSink;

  private readonly style: StdoutLineStyle;
  private readonly writeLine: ((line: string) => void) | undefined;

  constructor(private readonly stats: LoggerStats, fd = 1, opts: StdoutDriverOptions = {}) {
    super();
    this.sink = opts.sink ?? sinkFor(fd);
    this.style = opts.lineStyle ?? 'g3';
    this.writeLine = opts.writeLine;
  }

  record(record: LogRecord): void {
    this.stats.total++;
    if (this.writeLine) {
      const line = this.style === 'g3' ? formatStdoutLine(record) : formatProcessLine(record, this.style === 'priority');
      this.writeLine(line);
      this.stats.pass++;
      this.stats.passBytes += Buffer.byteLength(line);
      return;
    }
    if (this.sink.full) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    const bytes = this.sink.push(this.style === 'g3' ? formatStdoutLine(record) : formatProcessLine(record, this.style === 'priority'));
    this.stats.pass++;
    this.stats.passBytes += bytes;
  }

  writeTask(t: TaskContext, totalMs: number, msg: string, common: Common): void {
    this.stats.total++;
    if (this.sink.full) {
      countDrop(this.stats, 'ChannelOverflow');
      return;
    }
    if (common !== this.formattersFor) {
      this.formatters = new Map();
      this.formattersFor = common;
    }
    const kind = taskKindOf(t);
    let f = this.formatters.get(kind);
    if (!f) this.formatters.set(kind, (f = { bytes: compileFormatter(kind, common, true), text: compileFormatter(kind, common, false) }));
    const head = `${formatStdoutTime(Date.now())} ${LEVEL_SHORT.info} `;
    // most lines are ASCII but for the durations' µ: those go out as latin1 (see compileFormatter)
    const fields = isAscii(msg) ? f.bytes(t, totalMs) : null;
    const latin1 = fields !== null;
    let line = head + msg + (latin1 ? fields : f.text(t, totalMs)!);
    // CR/LF can only come from values (client-supplied uri, user agent, user, host, error text): one scan of
    // the whole line instead of one per value, and the escape applied to the line escapes exactly the values.
    // The scan flattens the line once, and it is pushed as it is, so it is not copied again before encoding.
    if (line.indexOf('\n') !== -1 || line.indexOf('\r') !== -1) line = head + valueText(line.slice(head.length));
    const bytes = this.sink.push(line, true, latin1);
    this.stats.pass++;
    this.stats.passBytes += bytes;
  }

  override close(): Promise<void> {
    return this.sink.drained();
  }
}

export class DiscardDriver extends DriverTransport {
  readonly name = 'discard';
  constructor(private readonly stats: LoggerStats) {
    super();
  }
  record(): void {
    this.stats.total++;
    this.stats.drop++;
  }
  override async close(): Promise<void> {}
}
