export type LogType = 'Task' | 'Escape' | 'Resolve' | 'Inspect' | 'Intercept';
export type LogValue = string | number | boolean;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** One structured record: g3's keys in `fields`, the error text (if any) in `msg`. */
export interface LogRecord {
  logType: LogType;
  level: LogLevel;
  /** ms since epoch */
  ts: number;
  fields: Array<[string, LogValue]>;
  msg: string;
}

export interface LogDriver {
  readonly name: string;
  write(record: LogRecord): void;
  close(): Promise<void>;
}

export interface LoggerStats {
  total: number;
  pass: number;
  drop: number;
}
