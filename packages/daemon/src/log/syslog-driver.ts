/**
 * The `syslog` log driver, in g3's four formats (lib/g3-syslog), facility `daemon`:
 * - RFC 3164: `<PRI>Mmm dd hh:mm:ss [host ]g3proxy[pid]: <msg>, key="value", key=123` (local time; strings
 *   quoted with Rust `escape_debug` escapes, numbers and booleans bare; fields in emission order);
 * - RFC 5424: `<PRI>1 <RFC 3339 µs Z> <host|-> g3proxy <pid> <msgid|-> [g3proxy@<eid> key="value"...] <msg>`
 *   (`]` in values escaped as `\]`);
 * - CEE (either header): the header, the event flag (`@cee:`) and one JSON object of every field plus `msg`.
 * Targets: a Unix datagram socket (default /dev/log) or UDP; one datagram per record.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { escapeDebug, formatRfc3164Time, formatTimestamp } from './format.js';
import { QueuedDriver } from './queued-driver.js';
import { countDrop, LEVEL_SEVERITY, type LogRecord, type LoggerStats } from './record.js';
import { unixDgram, type UnixDgramSocket } from './unix-dgram.js';

const FACILITY_DAEMON = 3 << 3;
export const SYSLOG_DEFAULT_UNIX = '/dev/log';

export type SyslogTarget = { kind: 'unix'; path: string } | { kind: 'udp'; host: string; port: number; bindIp?: string };

export interface SyslogOptions {
  target: SyslogTarget;
  /** set for RFC 5424 */
  rfc5424?: { enterpriseId: number; messageId?: string };
  /** set for CEE syntax (the event flag, `@cee:` by default) */
  ceeEventFlag?: string;
  emitHostname: boolean;
  appendReportTs: boolean;
  ident: string;
  channelSize: number;
}

export function formatSyslog(r: LogRecord, o: SyslogOptions, pid = process.pid, host = o.emitHostname ? hostname() : undefined): string {
  const pri = FACILITY_DAEMON | LEVEL_SEVERITY[r.level];
  let head: string;
  if (o.rfc5424) {
    head = `<${pri}>1 ${formatTimestamp(r.ts)} ${host ?? '-'} ${o.ident} ${pid} ${o.rfc5424.messageId ?? '-'} `;
  } else {
    head = `<${pri}>${formatRfc3164Time(r.ts)}${host ? ` ${host}` : ''} ${o.ident}[${pid}]: `;
  }
  const reportTs = o.appendReportTs ? Math.floor(r.ts / 1000) : undefined;
  if (o.ceeEventFlag !== undefined) {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of r.fields) obj[k] = v;
    if (reportTs !== undefined) obj.report_ts = reportTs;
    obj.msg = r.msg;
    return head + o.ceeEventFlag + JSON.stringify(obj);
  }
  if (o.rfc5424) {
    let sd = `[g3proxy@${o.rfc5424.enterpriseId}`;
    for (const [k, v] of r.fields) sd += ` ${k}="${escape5424(String(v))}"`;
    if (reportTs !== undefined) sd += ` report_ts="${reportTs}"`;
    return `${head}${sd}] ${escape5424(r.msg)}`;
  }
  let line = head + escapeDebug(r.msg);
  for (const [k, v] of r.fields) line += typeof v === 'string' ? `, ${k}="${escapeDebug(v)}"` : `, ${k}=${v}`;
  if (reportTs !== undefined) line += `, report_ts=${reportTs}`;
  return line;
}

function escape5424(s: string): string {
  const e = escapeDebug(s);
  return e.includes(']') ? e.replaceAll(']', '\\]') : e;
}

export class SyslogDriver extends QueuedDriver<Buffer> {
  readonly name = 'syslog';
  private udp: UdpSocket | null = null;
  private unix: UnixDgramSocket | null = null;
  private readonly host: string | undefined;
  /** UDP sends handed to the socket whose callback has not run yet (close waits for them) */
  private inFlight = 0;

  constructor(stats: LoggerStats, private readonly opts: SyslogOptions, onIoError?: (e: Error) => void) {
    super(stats, opts.channelSize, onIoError);
    this.host = opts.emitHostname ? hostname() : undefined;
  }

  protected encode(record: LogRecord): Buffer {
    return Buffer.from(formatSyslog(record, this.opts, process.pid, this.host), 'utf8');
  }

  protected drain(): void {
    const items = this.queue;
    this.queue = [];
    const t = this.opts.target;
    try {
      if (t.kind === 'udp') {
        if (!this.udp) {
          this.udp = createSocket(isIP(t.host) === 6 ? 'udp6' : 'udp4');
          this.udp.on('error', () => {});
          this.udp.unref();
          if (t.bindIp) this.udp.bind({ address: t.bindIp, port: 0 });
        }
        for (const b of items) {
          this.inFlight++;
          this.udp.send(b, t.port, t.host, (err) => {
            this.inFlight--;
            if (err) {
              countDrop(this.stats, 'PeerUnreachable');
              this.ioError(err);
            }
            else {
              this.stats.pass++;
              this.stats.passBytes += b.length;
            }
          });
        }
      } else {
        if (!this.unix) {
          this.unix = unixDgram().createSocket('unix_dgram');
          this.unix.on('error', () => {});
        }
        for (const b of items) {
          this.unix.send(b, 0, b.length, t.path, (err) => {
            if (err) {
              countDrop(this.stats, 'PeerUnreachable');
              this.ioError(err);
            }
            else {
              this.stats.pass++;
              this.stats.passBytes += b.length;
            }
          });
        }
      }
    } catch (e) {
      countDrop(this.stats, 'PeerUnreachable', items.length);
      this.ioError(e as Error);
    }
  }

  override async close(): Promise<void> {
    await super.close();
    // closing a UDP socket cancels sends still queued in it: give the last records a moment to leave
    for (let i = 0; i < 50 && this.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    try {
      this.unix?.close();
    } catch {
      /* already closed */
    }
    this.udp?.close();
    this.udp = this.unix = null;
  }
}
