/** g3's log types; `Process` is what the daemon says about itself (the process log through winston). */
export type LogType = 'Task' | 'Escape' | 'Resolve' | 'Inspect' | 'Intercept' | 'Process';
export type LogValue = string | number | boolean;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** One structured record: g3's keys in `fields`, the error text (if any) in `msg`. */
export interface LogRecord {
  logType: LogType;
  level: LogLevel;
  /** ms since epoch */
  ts: number;
  fields: Array<[string, LogValue]>;
  msg: string;
}

/** What a logger needs of a driver. The built-in drivers are also winston transports (transport.ts). */
export interface LogDriver {
  readonly name: string;
  /** take one record; never blocks or throws (what cannot be sent is counted as dropped) */
  record(record: LogRecord): void;
  close(): Promise<void>;
}

/**
 * Counters of one logger, g3's `logger.*` metrics. `drop` is the sum of the four typed drop counters (plus
 * records a discard driver swallows); the typed ones feed `logger.message.drop` with its `drop_type` tag.
 */
export interface LoggerStats {
  total: number;
  pass: number;
  /** bytes handed to the peer (`logger.traffic.pass`) */
  passBytes: number;
  drop: number;
  dropFormatFailed: number;
  dropChannelClosed: number;
  dropChannelOverflow: number;
  dropPeerUnreachable: number;
}

export function newLoggerStats(): LoggerStats {
  return {
    total: 0, pass: 0, passBytes: 0, drop: 0,
    dropFormatFailed: 0, dropChannelClosed: 0, dropChannelOverflow: 0, dropPeerUnreachable: 0,
  };
}

export type DropType = 'FormatFailed' | 'ChannelClosed' | 'ChannelOverflow' | 'PeerUnreachable';

export function countDrop(s: LoggerStats, type: DropType, n = 1): void {
  s.drop += n;
  if (type === 'FormatFailed') s.dropFormatFailed += n;
  else if (type === 'ChannelClosed') s.dropChannelClosed += n;
  else if (type === 'ChannelOverflow') s.dropChannelOverflow += n;
  else s.dropPeerUnreachable += n;
}

/** g3's slog levels as its stdout driver prints them (slog's short names). */
export const LEVEL_SHORT: Record<LogLevel, string> = { error: 'ERRO', warn: 'WARN', info: 'INFO', debug: 'DEBG', trace: 'TRCE' };
/** syslog severities as g3 maps slog levels: info is NOTICE, debug is INFO. */
export const LEVEL_SEVERITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 5, debug: 6, trace: 7 };

/**
 * g3's `io_error_sampling_offset` (n, 0..16): a logger that keeps failing to reach its peer reports the
 * first I/O error and then one in every 2^n (the others are only counted in `logger.message.drop`), so a dead
 * log collector cannot flood the process log.
 */
export function ioErrorReporter(logger: string, samplingOffset: number, report: ((m: string) => void) | undefined): (e: Error) => void {
  const mask = 2 ** samplingOffset - 1;
  let seen = 0;
  return (e) => {
    if ((seen & mask) === 0) report?.(`logger ${logger}: I/O error #${seen + 1} (1 in ${mask + 1} reported): ${e.message}`);
    seen++;
  };
}
