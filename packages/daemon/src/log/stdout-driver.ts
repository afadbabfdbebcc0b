/**
 * The `stdout` log driver: one line per record, `<Mmm dd hh:mm:ss.mmm> <LEVEL> key: value, key: value, ... <msg>`
 * with keys sorted, as g3 prints it.
 *
 * process.stdout is synchronous for pipes and files on Linux, so records are batched and written through an
 * async fd stream; when the consumer cannot keep up the queue is bounded and the excess is dropped and counted
 * (a slow log reader must never stall proxied traffic).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { formatStdoutTime } from './format.js';
import type { LogDriver, LogRecord, LoggerStats, LogValue } from './record.js';

const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

// Unquoted values never hold whitespace, a comma or a quote, so a line splits back into fields unambiguously.
const NEEDS_QUOTE = /[\s,"\\]|^$/;

function formatValue(v: LogValue): string {
  if (typeof v !== 'string') return String(v);
  return NEEDS_QUOTE.test(v) ? JSON.stringify(v) : v;
}

export function formatStdoutLine(r: LogRecord): string {
  const fields = r.fields.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let line = `${formatStdoutTime(r.ts)} ${r.level.toUpperCase()}`;
  let first = true;
  for (const [k, v] of fields) {
    line += first ? ` ${k}: ${formatValue(v)}` : `, ${k}: ${formatValue(v)}`;
    first = false;
  }
  if (r.msg) line += ` ${JSON.stringify(r.msg)}`;
  return line + '\n';
}

export class StdoutDriver implements LogDriver {
  readonly name = 'stdout';
  private pending: string[] = [];
  private scheduled = false;
  private readonly out: WriteStream;

  constructor(private readonly stats: LoggerStats, fd = 1) {
    this.out = createWriteStream('', { fd, autoClose: false });
    this.out.on('error', () => {
      /* a closed stdout must not kill the daemon; records are dropped from now on */
    });
  }

  write(record: LogRecord): void {
    this.stats.total++;
    if (this.out.writableLength > MAX_QUEUED_BYTES || this.out.destroyed) {
      this.stats.drop++;
      return;
    }
    this.pending.push(formatStdoutLine(record));
    this.stats.pass++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.out.write(chunk);
  };

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.out.writableLength === 0) return resolve();
      this.out.once('drain', () => resolve());
      setTimeout(resolve, 1000).unref();
    });
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
