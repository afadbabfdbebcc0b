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
import { createWriteStream, type WriteStream } from 'node:fs';
import { formatStdoutTime } from './format.js';
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

/** One writer per fd, shared by all stdout loggers so their lines never interleave mid-line. */
class FdSink {
  private pending: string[] = [];
  private scheduled = false;
  private readonly out: WriteStream;
  constructor(fd: number) {
    this.out = createWriteStream('', { fd, autoClose: false });
    this.out.on('error', () => {
      /* a closed stdout must not kill the daemon; records are dropped from now on */
    });
  }
  get full(): boolean {
    return this.out.writableLength > MAX_QUEUED_BYTES || this.out.destroyed;
  }
  push(line: string): void {
    this.pending.push(line);
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

export class StdoutDriver implements LogDriver {
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
