/**
 * The `journal` log driver: journald's native protocol, one datagram per record on
 * /run/systemd/journal/socket. A record is `KEY=value\n` lines — PRIORITY, SYSLOG_IDENTIFIER, every field
 * with its key upper-cased (non-alphanumerics become `_`, keys not starting with a letter are skipped), then
 * MESSAGE — and a value holding a newline takes the binary form `KEY\n<u64 LE length><bytes>\n`.
 *
 * Records too big for one datagram (EMSGSIZE): journald's own clients pass a sealed memfd with SCM_RIGHTS,
 * which no Node API can send. The fallback here resends the record with every value cut to 4 KiB and
 * `SLUICE_TRUNCATED=1` added, so the record still arrives, shortened and marked, instead of vanishing.
 */
import { QueuedDriver } from './queued-driver.js';
import { countDrop, type LogLevel, type LogRecord, type LoggerStats } from './record.js';
import { EMSGSIZE, unixDgram, type UnixDgramSocket } from './unix-dgram.js';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';
const PRIORITY: Record<LogLevel, string> = { error: '3', warn: '4', info: '5', debug: '6', trace: '7' };
const TRUNCATE_AT = 4096;

export function journalKey(k: string): string | null {
  if (k.length === 0 || k.length > 64) return null;
  const c0 = k.charCodeAt(0);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122))) return null;
  return k.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function pushField(parts: Buffer[], key: string, value: string, cap: number): void {
  let v = Buffer.from(value, 'utf8');
  if (v.length > cap) v = v.subarray(0, cap);
  if (v.includes(10)) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(v.length));
    parts.push(Buffer.from(`${key}\n`), len, v, Buffer.from('\n'));
  } else {
    parts.push(Buffer.from(`${key}=`), v, Buffer.from('\n'));
  }
}

export function formatJournal(r: LogRecord, ident: string, cap = Infinity): Buffer {
  const parts: Buffer[] = [Buffer.from(`PRIORITY=${PRIORITY[r.level]}\nSYSLOG_IDENTIFIER=${ident}\n`)];
  for (const [k, v] of r.fields) {
    const key = journalKey(k);
    if (key) pushField(parts, key, String(v), cap);
  }
  if (cap !== Infinity) parts.push(Buffer.from('SLUICE_TRUNCATED=1\n'));
  pushField(parts, 'MESSAGE', r.msg, cap);
  return Buffer.concat(parts);
}

export interface JournalOptions {
  /** socket path; journald's unless a test points it elsewhere */
  path?: string;
  ident?: string;
  channelSize?: number;
}

export class JournalDriver extends QueuedDriver<{ full: Buffer; record: LogRecord }> {
  readonly name = 'journal';
  private sock: UnixDgramSocket | null = null;
  private readonly path: string;
  private readonly ident: string;

  constructor(stats: LoggerStats, opts: JournalOptions = {}) {
    super(stats, opts.channelSize ?? 4096);
    this.path = opts.path ?? JOURNAL_SOCKET;
    this.ident = opts.ident ?? 'g3proxy';
  }

  protected encode(record: LogRecord): { full: Buffer; record: LogRecord } {
    return { full: formatJournal(record, this.ident), record };
  }

  private socket(): UnixDgramSocket {
    if (!this.sock) {
      this.sock = unixDgram().createSocket('unix_dgram');
      this.sock.on('error', () => {});
    }
    return this.sock;
  }

  protected drain(): void {
    const items = this.queue;
    this.queue = [];
    let sock: UnixDgramSocket;
    try {
      sock = this.socket();
    } catch {
      countDrop(this.stats, 'PeerUnreachable', items.length);
      return;
    }
    for (const it of items) this.send(sock, it.full, it.record, false);
  }

  private send(sock: UnixDgramSocket, buf: Buffer, record: LogRecord, truncated: boolean): void {
    sock.send(buf, 0, buf.length, this.path, (err) => {
      if (!err) {
        this.stats.pass++;
        this.stats.passBytes += buf.length;
      } else if (err.code === EMSGSIZE && !truncated) {
        this.send(sock, formatJournal(record, this.ident, TRUNCATE_AT), record, true);
      } else {
        countDrop(this.stats, 'PeerUnreachable');
      }
    });
  }

  override async close(): Promise<void> {
    await super.close();
    try {
      this.sock?.close();
    } catch {
      /* already closed */
    }
    this.sock = null;
  }
}
