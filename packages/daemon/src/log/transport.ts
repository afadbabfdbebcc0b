/**
 * sluice's log drivers as winston transports. Every driver extends winston-transport's TransportStream, so a
 * winston logger can write through it (the daemon's process log does, see process-log.ts, and an embedding
 * program may add a driver to its own winston logger or any winston transport to the process log).
 *
 * Two ways in, one driver:
 * - `log(info, next)`, winston's: an `info` object (level, message, metadata) becomes a LogRecord. A LogRecord
 *   written straight to the stream (`driver.write(record)`) is passed through as it is.
 * - `record(r)`, the task-log hot path: the hub calls it directly. A winston logger would build an `info`
 *   object per record and push it through its own object-mode stream and the transport's Writable (buffering
 *   state, callbacks, level checks) before `log()` ran: per-record allocation and work on the proxy's only
 *   thread, for nothing the task log needs. So tasks skip the stream and hand the driver its record.
 */
import TransportStream from 'winston-transport';
import type { LogDriver, LogLevel, LogRecord, LogType, LogValue } from './record.js';

const LEVELS: ReadonlySet<string> = new Set<LogLevel>(['error', 'warn', 'info', 'debug', 'trace']);
const LOG_TYPES: ReadonlySet<string> = new Set<LogType>(['Task', 'Escape', 'Resolve', 'Inspect', 'Intercept', 'Process']);
/** winston keeps the level as given (before any colorizing format) under this symbol (triple-beam's LEVEL) */
const LEVEL = Symbol.for('level');

function isLogRecord(v: unknown): v is LogRecord {
  const r = v as Partial<LogRecord> | null;
  return !!r && Array.isArray(r.fields) && typeof r.logType === 'string' && typeof r.ts === 'number';
}

function logValue(v: unknown): LogValue {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * A winston `info` as a LogRecord: `level` (winston's npm levels beyond ours, such as `verbose` or `silly`,
 * count as debug), `message` as the message, `log_type` (when it names one of g3's types) as the record's
 * type — `Process` otherwise — and every other own key as a field, in the order winston built them.
 */
export function recordFromInfo(info: Record<string | symbol, unknown>): LogRecord {
  if (isLogRecord(info)) return info;
  const raw = String(info[LEVEL] ?? info.level ?? 'info');
  const level = (LEVELS.has(raw) ? raw : raw === 'fatal' || raw === 'crit' ? 'error' : raw === 'warning' ? 'warn' : raw === 'notice' ? 'info' : 'debug') as LogLevel;
  const lt = info.log_type;
  const fields: Array<[string, LogValue]> = [];
  for (const k of Object.keys(info)) {
    if (k === 'level' || k === 'message') continue;
    const v = info[k];
    if (v !== undefined) fields.push([k, logValue(v)]);
  }
  return {
    logType: typeof lt === 'string' && LOG_TYPES.has(lt) ? (lt as LogType) : 'Process',
    level,
    ts: Date.now(),
    fields,
    msg: info.message === undefined ? '' : String(logValue(info.message)),
  };
}

export abstract class DriverTransport extends TransportStream implements LogDriver {
  abstract readonly name: string;
  /** Take one record (the hot path; never blocks, never throws: a record that cannot go is counted as dropped). */
  abstract record(r: LogRecord): void;
  abstract override close(): Promise<void>;

  constructor() {
    super({});
    // nothing to do with a stream error but ignore it: a log driver must not take the daemon down
    this.on('error', () => {});
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.record(recordFromInfo(info));
    next();
  }
}
