/**
 * The four task-side loggers of g3 (task, escape, resolve, audit) built from the main file's `log:` key.
 *
 * `log:` is a driver name, or a map with `default` plus per-logger overrides (`task`, `escape`, `resolve`,
 * `audit`); each value is a driver name or a map naming one driver with its options.
 */
import type { LogDriver, LogRecord, LoggerStats, LogType } from './record.js';
import { DiscardDriver, StdoutDriver } from './stdout-driver.js';

export type LoggerRole = 'task' | 'escape' | 'resolve' | 'audit';
const ROLES: LoggerRole[] = ['task', 'escape', 'resolve', 'audit'];
const DRIVER_NAMES = ['discard', 'stdout', 'journal', 'syslog', 'fluentd'] as const;
type DriverName = (typeof DRIVER_NAMES)[number];

export interface DriverSpec {
  driver: DriverName;
  options: Record<string, unknown>;
}

export interface LogConfig {
  default: DriverSpec;
  task?: DriverSpec;
  escape?: DriverSpec;
  resolve?: DriverSpec;
  audit?: DriverSpec;
}

/** A driver factory for the drivers beyond stdout/discard; registered by the modules that implement them. */
export type DriverFactory = (spec: DriverSpec, stats: LoggerStats, role: LoggerRole) => LogDriver;
const extraDrivers = new Map<string, DriverFactory>();
export function registerLogDriver(name: DriverName, factory: DriverFactory): void {
  extraDrivers.set(name, factory);
}

function parseDriverSpec(v: unknown, where: string): DriverSpec {
  if (typeof v === 'string') {
    const d = v.toLowerCase() as DriverName;
    if (!DRIVER_NAMES.includes(d)) throw new Error(`${where}: unknown log driver '${v}' (known: ${DRIVER_NAMES.join(', ')})`);
    return { driver: d, options: {} };
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const m = v as Record<string, unknown>;
    const drivers = Object.keys(m).filter((k) => (DRIVER_NAMES as readonly string[]).includes(k));
    if (drivers.length !== 1) throw new Error(`${where}: expected exactly one driver key (${DRIVER_NAMES.join(', ')})`);
    const driver = drivers[0] as DriverName;
    const inner = m[driver];
    const options: Record<string, unknown> = inner && typeof inner === 'object' ? { ...(inner as object) } : {};
    for (const [k, val] of Object.entries(m)) if (k !== driver) options[k] = val;
    return { driver, options };
  }
  throw new Error(`${where}: expected a driver name or a map`);
}

/** Parse g3's `log:` value. Throws Error with a key path in the message. */
export function parseLogConfig(v: unknown): LogConfig {
  if (v === undefined || v === null) return { default: { driver: 'discard', options: {} } };
  if (typeof v === 'string') return { default: parseDriverSpec(v, 'log') };
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('log: expected a driver name or a map');
  const m = v as Record<string, unknown>;
  const cfg: LogConfig = { default: { driver: 'discard', options: {} } };
  for (const [key, val] of Object.entries(m)) {
    if (key === 'default') cfg.default = parseDriverSpec(val, 'log/default');
    else if ((ROLES as string[]).includes(key)) cfg[key as LoggerRole] = parseDriverSpec(val, `log/${key}`);
    else if (key === 'syslog' || key === 'fluentd' || key === 'journal') cfg.default = { driver: key, options: (val ?? {}) as Record<string, unknown> };
    else throw new Error(`log/${key}: unknown key (known: default, task, escape, resolve, audit, syslog, fluentd, journal)`);
  }
  return cfg;
}

export class Logger {
  readonly stats: LoggerStats = { total: 0, pass: 0, drop: 0 };
  readonly driver: LogDriver;
  constructor(readonly role: LoggerRole, spec: DriverSpec, private readonly common: { daemonName: string; pid: number }, warn: (m: string) => void) {
    this.driver = createDriver(spec, this.stats, role, warn);
  }
  get enabled(): boolean {
    return this.driver.name !== 'discard';
  }
  log(logType: LogType, fields: LogRecord['fields'], msg = '', level: LogRecord['level'] = 'info'): void {
    if (this.driver.name === 'discard') {
      this.stats.total++;
      this.stats.drop++;
      return;
    }
    fields.push(['daemon_name', this.common.daemonName], ['pid', this.common.pid], ['log_type', logType]);
    this.driver.write({ logType, level, ts: Date.now(), fields, msg });
  }
}

function createDriver(spec: DriverSpec, stats: LoggerStats, role: LoggerRole, warn: (m: string) => void): LogDriver {
  if (spec.driver === 'stdout') return new StdoutDriver(stats);
  if (spec.driver === 'discard') return new DiscardDriver(stats);
  const factory = extraDrivers.get(spec.driver);
  if (factory) return factory(spec, stats, role);
  warn(`log driver '${spec.driver}' is not available in this build; ${role} logs go to stdout`);
  return new StdoutDriver(stats);
}

export class LogHub {
  readonly task: Logger;
  readonly escape: Logger;
  readonly resolve: Logger;
  readonly audit: Logger;
  constructor(cfg: LogConfig, daemonName: string, warn: (m: string) => void) {
    const common = { daemonName, pid: process.pid };
    this.task = new Logger('task', cfg.task ?? cfg.default, common, warn);
    this.escape = new Logger('escape', cfg.escape ?? cfg.default, common, warn);
    this.resolve = new Logger('resolve', cfg.resolve ?? cfg.default, common, warn);
    this.audit = new Logger('audit', cfg.audit ?? cfg.default, common, warn);
  }
  async close(): Promise<void> {
    await Promise.all([this.task, this.escape, this.resolve, this.audit].map((l) => l.driver.close()));
  }
}
