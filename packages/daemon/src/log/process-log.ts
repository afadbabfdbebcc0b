/**
 * The process log (what the daemon itself says: startup, reloads, warnings), distinct from task logs. It is a
 * winston logger: `winston.createLogger` with g3's levels (error..trace, picked by -v) whose transport is
 * sluice's own stdout driver (a winston transport, see transport.ts) pointed at stderr. By default a line is
 * `<RFC 3339 time> <LEVEL> <msg>`; with `-s` it is `<N><msg>`, the syslog priority prefix journald understands
 * on a service's stderr stream. Any other winston transport — another sluice driver (syslog, fluentd,
 * journal) or a third-party one — can be added with `add()`.
 */
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { newLoggerStats } from './record.js';
import { StdoutDriver } from './stdout-driver.js';

export type PLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const RANK: Record<PLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const BY_RANK: readonly PLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export class ProcessLogger {
  /** the winston logger the lines go through (add transports to it, or log with metadata) */
  readonly winston: winston.Logger;
  private readonly max: number;

  constructor(verbose: number, journal = false, sink: (line: string) => void = (l) => void process.stderr.write(l)) {
    // -v count: 0 = warn, 1 = info, 2 = debug, 3+ = trace (g3's mapping)
    this.max = Math.min(1 + verbose, 4);
    const stderr = new StdoutDriver(newLoggerStats(), 2, { lineStyle: journal ? 'priority' : 'process', writeLine: sink });
    this.winston = winston.createLogger({
      levels: RANK,
      level: BY_RANK[this.max],
      transports: [stderr],
      // a failing transport must not end the daemon
      exitOnError: false,
    });
  }

  enabled(level: PLevel): boolean {
    return RANK[level] <= this.max;
  }

  log(level: PLevel, msg: string): void {
    if (!this.enabled(level)) return; // skip building winston's info object at all
    this.winston.log(level, msg);
  }

  /** Add a winston transport (a sluice driver or any other) beside stderr. */
  add(transport: TransportStream): void {
    this.winston.add(transport);
  }

  error(msg: string): void { this.log('error', msg); }
  warn(msg: string): void { this.log('warn', msg); }
  info(msg: string): void { this.log('info', msg); }
  debug(msg: string): void { this.log('debug', msg); }
}
