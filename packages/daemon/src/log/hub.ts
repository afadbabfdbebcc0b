/**
 * The task-side loggers of g3 built from the main file's `log:` key. As in g3 every server, escaper, resolver
 * and auditor gets its own logger — `lt-<server>`, `le-<escaper>`, `lr-<resolver>`, `la-<auditor>` — unless it
 * names a `shared_logger`, which makes all objects naming it write through one logger called `lt-<shared>`
 * (or `le-`...). Each logger counts what it was given, passed and dropped (`logger.*` metrics).
 *
 * The drivers are winston transports (transport.ts; the process log writes through them with winston), but
 * task records skip winston: a winston logger builds an `info` object per record and pushes it through
 * object-mode streams (its own and the transport's Writable) before a transport sees it, which is per-record
 * allocation and work on the proxy's only thread. The hub calls each driver's `record()` instead; the drivers
 * format straight into the wire bytes and write to non-blocking sockets from a bounded queue, so a task pays
 * for one string or buffer and nothing waits.
 */
import { DiscardDriver, StdoutDriver } from './stdout-driver.js';
import { FluentdDriver } from './fluentd-driver.js';
import { JournalDriver } from './journal-driver.js';
import type { TaskContext } from '../task/task.js';
import { taskLogFields } from '../task/task-log.js';
import type { TaskLineWriter } from './stdout-driver.js';
import { LOGGER_ROLES, parseLogConfig, type DriverSpec, type LogConfig, type LoggerRole } from './log-config.js';
import { ioErrorReporter, newLoggerStats, type LogDriver, type LogRecord, type LoggerStats, type LogType } from './record.js';
import { SyslogDriver } from './syslog-driver.js';

export { parseLogConfig, type DriverSpec, type LogConfig, type LoggerRole };

/** A driver factory for drivers beyond the built-in ones (kept for extensions and tests). */
export type DriverFactory = (spec: DriverSpec, stats: LoggerStats, role: LoggerRole, onIoError?: (e: Error) => void) => LogDriver;
const extraDrivers = new Map<string, DriverFactory>();
export function registerLogDriver(name: string, factory: DriverFactory): void {
  extraDrivers.set(name, factory);
}

const PREFIX: Record<LoggerRole, string> = { task: 'lt', escape: 'le', resolve: 'lr', audit: 'la' };

export function createDriver(spec: DriverSpec, stats: LoggerStats, role: LoggerRole, onIoError?: (e: Error) => void): LogDriver {
  const extra = extraDrivers.get(spec.driver);
  if (extra) return extra(spec, stats, role, onIoError);
  switch (spec.driver) {
    case 'stdout': return new StdoutDriver(stats);
    case 'journal': return new JournalDriver(stats, { path: spec.path, channelSize: spec.channelSize });
    case 'syslog': return new SyslogDriver(stats, spec.syslog, onIoError);
    case 'fluentd': return new FluentdDriver(stats, spec.fluentd, onIoError);
    default: return new DiscardDriver(stats);
  }
}

/**
 * Finish records waiting to be written, four slots each: logger, task, total ms, message.
 *
 * Formatting a record is ~40 short steps (a getter, a value format, a concatenation per field). Done one
 * record at a time between the socket work of each request, it ran with cold caches and cost about twice
 * what the same formatting costs in a loop: with a task log to stdout, keep-alive requests/s dropped to
 * 0.83-0.85x of the same daemon without one. Formatting the records of the last few milliseconds together
 * brought that to ~0.91x (at the end of each event-loop turn) and ~0.92x (every FLUSH_MS, measured with
 * bench/log-probe.mjs). The tasks wait at most that long, so most are still young when collected, and their
 * values are the ones they finished with: nothing changes a finished task. MAX_WAITING bounds the queue.
 */
const FLUSH_MS = 5;
const MAX_WAITING = 512;
const finishedTasks: Array<Logger | TaskContext | number | string> = [];
let flushTimer: NodeJS.Timeout | undefined;

/** Write every finish record queued so far (also called before the drivers close). */
export function flushFinishedTasks(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  try {
    for (let i = 0; i < finishedTasks.length; i += 4) {
      (finishedTasks[i] as Logger).writeTask(finishedTasks[i + 1] as TaskContext, finishedTasks[i + 2] as number, finishedTasks[i + 3] as string);
    }
  } finally {
    finishedTasks.length = 0;
  }
}

export class Logger {
  readonly stats: LoggerStats = newLoggerStats();
  readonly driver: LogDriver;
  /** false for `discard`: callers skip building the record at all */
  readonly enabled: boolean;

  constructor(
    readonly role: LoggerRole,
    /** `lt-<server>`... the `logger` tag of the logger metrics */
    readonly name: string,
    spec: DriverSpec,
    private readonly common: { daemonName: string; pid: number },
    /** where sampled driver I/O errors go (the process log) */
    warn?: (m: string) => void,
  ) {
    // g3: journal (and discard) do not report I/O errors
    const onIoError = spec.driver === 'journal' ? undefined : ioErrorReporter(name, spec.ioErrorSamplingOffset, warn);
    this.driver = createDriver(spec, this.stats, role, onIoError);
    this.enabled = this.driver.name !== 'discard';
  }

  /**
   * The finish record of a task, written within FLUSH_MS with the others finished meanwhile (see above). A
   * driver that can format straight from the task (stdout) does so without building the field list; every
   * other driver gets the generic record.
   */
  logTask(t: TaskContext, totalMs: number, msg: string): void {
    if (!this.enabled) {
      this.stats.total++;
      this.stats.drop++;
      return;
    }
    finishedTasks.push(this, t, totalMs, msg);
    if (finishedTasks.length >= MAX_WAITING * 4) {
      flushFinishedTasks();
    } else if (!flushTimer) {
      flushTimer = setTimeout(flushFinishedTasks, FLUSH_MS);
      flushTimer.unref();
    }
  }

  /** Format and write one finish record now. */
  writeTask(t: TaskContext, totalMs: number, msg: string): void {
    const fast = this.driver as LogDriver & Partial<TaskLineWriter>;
    if (fast.writeTask) fast.writeTask(t, totalMs, msg, this.common);
    else this.log('Task', taskLogFields(t, totalMs), msg, 'info');
  }

  log(logType: LogType, fields: LogRecord['fields'], msg = '', level: LogRecord['level'] = 'info'): void {
    if (!this.enabled) {
      this.stats.total++;
      this.stats.drop++;
      return;
    }
    // g3 puts its logger-wide values first: daemon_name, log_type, pid
    fields.unshift(['daemon_name', this.common.daemonName], ['log_type', logType], ['pid', this.common.pid]);
    this.driver.record({ logType, level, ts: Date.now(), fields, msg });
  }
}

export class LogHub {
  /** the role loggers objects without their own logger fall back to (`lt-default`...) */
  readonly task: Logger;
  readonly escape: Logger;
  readonly resolve: Logger;
  readonly audit: Logger;
  private readonly byName = new Map<string, Logger>();
  private readonly common: { daemonName: string; pid: number };

  constructor(private readonly cfg: LogConfig, daemonName: string, private readonly warn?: (m: string) => void) {
    this.common = { daemonName, pid: process.pid };
    this.task = this.named('task', 'default');
    this.escape = this.named('escape', 'default');
    this.resolve = this.named('resolve', 'default');
    this.audit = this.named('audit', 'default');
  }

  private named(role: LoggerRole, objectName: string): Logger {
    const name = `${PREFIX[role]}-${objectName}`;
    let l = this.byName.get(name);
    if (!l) {
      l = new Logger(role, name, this.cfg[role] ?? this.cfg.default, this.common, this.warn);
      this.byName.set(name, l);
    }
    return l;
  }

  /** The task logger of a server (`lt-<name>`, or `lt-<shared_logger>`). Same name, same logger. */
  forServer(name: string, sharedLogger?: string): Logger {
    return this.named('task', sharedLogger || name);
  }
  forEscaper(name: string, sharedLogger?: string): Logger {
    return this.named('escape', sharedLogger || name);
  }
  forResolver(name: string): Logger {
    return this.named('resolve', name);
  }
  forAuditor(name: string): Logger {
    return this.named('audit', name);
  }

  /** Every logger made so far (for the logger metrics). */
  loggers(): IterableIterator<Logger> {
    return this.byName.values();
  }

  async close(): Promise<void> {
    flushFinishedTasks();
    await Promise.all([...this.byName.values()].map((l) => l.driver.close()));
  }
}

export { LOGGER_ROLES };
