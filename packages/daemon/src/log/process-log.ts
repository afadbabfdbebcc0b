/**
 * The process log (what the daemon itself says: startup, reloads, warnings), distinct from task logs.
 * stderr by default; with `-s` each line carries a `<N>` syslog priority prefix, which journald understands on
 * a service's stderr stream.
 */
export type PLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const RANK: Record<PLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
const PRIO: Record<PLevel, number> = { error: 3, warn: 4, info: 6, debug: 7, trace: 7 };

export class ProcessLogger {
  private readonly max: number;
  constructor(verbose: number, private readonly journal = false, private readonly sink: (line: string) => void = (l) => process.stderr.write(l)) {
    // -v count: 0 = warn, 1 = info, 2 = debug, 3+ = trace (g3's mapping)
    this.max = Math.min(1 + verbose, 4);
  }
  enabled(level: PLevel): boolean {
    return RANK[level] <= this.max;
  }
  log(level: PLevel, msg: string): void {
    if (!this.enabled(level)) return;
    const line = this.journal ? `<${PRIO[level]}>${msg}\n` : `${new Date().toISOString()} ${level.toUpperCase()} ${msg}\n`;
    this.sink(line);
  }
  error(msg: string): void { this.log('error', msg); }
  warn(msg: string): void { this.log('warn', msg); }
  info(msg: string): void { this.log('info', msg); }
  debug(msg: string): void { this.log('debug', msg); }
}
