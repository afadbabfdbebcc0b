/** Unit tests of the log formats and drivers against sockets the test owns (loopback / temp Unix paths). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeDebug, formatDuration, formatRfc3164Time, formatStdoutTime, formatTimestamp } from './format.js';
import { formatJournal, journalKey, JournalDriver } from './journal-driver.js';
import { parseLogConfig } from './log-config.js';
import { decodeMsgpack, MsgpackWriter } from './msgpack.js';
import { encodeForwardEntry } from './fluentd-driver.js';
import { newLoggerStats, type LogRecord } from './record.js';
import { formatStdoutLine } from './stdout-driver.js';
import { formatSyslog, type SyslogOptions } from './syslog-driver.js';
import { unixDgram } from './unix-dgram.js';

const rec = (fields: LogRecord['fields'], msg = '', level: LogRecord['level'] = 'info'): LogRecord => ({
  logType: 'Task', level, ts: Date.UTC(2021, 11, 1, 10, 20, 30, 123), fields, msg,
});

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('value formats', () => {
  it('timestamps, durations and escapes as g3 writes them', () => {
    assert.equal(formatTimestamp(Date.UTC(2024, 7, 15, 14, 26, 13, 124) + 0.661), '2024-08-15T14:26:13.124661Z');
    assert.equal(formatDuration(1002), '1.002s');
    assert.equal(formatDuration(16.918), '16.918ms');
    assert.equal(formatDuration(0.111667), '111.667µs');
    assert.match(formatRfc3164Time(new Date(2021, 11, 1, 10, 20, 30).getTime()), /^Dec {2}1 10:20:30$/);
    assert.equal(escapeDebug('a"d"\ta'), 'a\\"d\\"\\ta');
    assert.equal(escapeDebug('时间\t"Time"'), '时间\\t\\"Time\\"');
    assert.equal(escapeDebug('plain'), 'plain');
  });
  it('cached per-second prefixes give what formatting each time from scratch gives', () => {
    const p2 = (n: number) => String(n).padStart(2, '0');
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const base = Date.UTC(2024, 11, 31, 23, 59, 58);
    // in and out of order, across a second, a minute and a year boundary
    for (const off of [0, 1, 999, 1000, 1001, 500, 1999, 2000, 2001, 999, 2500.25, 0.5]) {
      const ms = base + off;
      assert.equal(formatTimestamp(ms), `${new Date(Math.floor(ms)).toISOString().slice(0, 23)}${String(Math.round((ms % 1) * 1000)).padStart(3, '0')}Z`);
      const d = new Date(Math.floor(ms));
      const want = `${months[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
      assert.equal(formatStdoutTime(ms), want);
    }
  });
  it('durations round to whole nanoseconds first, and keep the unit picked before rounding', () => {
    assert.equal(formatDuration(0.0000004), '0ns');
    assert.equal(formatDuration(0.000012), '12ns');
    assert.equal(formatDuration(0.001), '1.000µs');
    assert.equal(formatDuration(0.0123), '12.300µs');
    assert.equal(formatDuration(999.9996), '1000.000ms');
    assert.equal(formatDuration(1), '1.000ms');
    assert.equal(formatDuration(61_234.5678), '61.235s');
  });
});

describe('stdout format', () => {
  it('puts the message first, then the keys sorted', () => {
    const line = formatStdoutLine(rec([['b', 1], ['a', 'x y'], ['c', true]], 'boom'));
    assert.match(line, / INFO boom, a: x y, b: 1, c: true\n$/);
    assert.match(formatStdoutLine(rec([['k', 'v']])), / INFO , k: v\n$/);
    assert.match(formatStdoutLine(rec([['k', 'a\nb']], '', 'warn')), / WARN , k: a\\nb\n$/);
  });
});

describe('syslog formats', () => {
  const base: SyslogOptions = { target: { kind: 'udp', host: '127.0.0.1', port: 1 }, emitHostname: false, appendReportTs: false, ident: 'g3proxy', channelSize: 10 };
  it('RFC 3164 text: quoted strings, bare numbers, fields in order', () => {
    const s = formatSyslog(rec([['task_id', 'ab'], ['pid', 7], ['ok', false]], 'bad "x"', 'warn'), base, 1024);
    assert.match(s, /^<28>Dec {2}1 \d\d:20:30 g3proxy\[1024\]: bad \\"x\\", task_id="ab", pid=7, ok=false$/);
  });
  it('RFC 5424: header, SD element with escaped ], message', () => {
    const s = formatSyslog(rec([['addr', '[::1]:80']], 'm'), { ...base, rfc5424: { enterpriseId: 0 } }, 1024, 'host1');
    assert.equal(s, '<29>1 2021-12-01T10:20:30.123000Z host1 g3proxy 1024 - [g3proxy@0 addr="[::1\\]:80"] m');
  });
  it('CEE: event flag straight before the JSON object', () => {
    const s = formatSyslog(rec([['n', 1]], 'hi'), { ...base, ceeEventFlag: '@cee:', appendReportTs: true }, 1);
    const json = JSON.parse(s.slice(s.indexOf('@cee:') + 5)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['n', 'report_ts', 'msg']);
  });
});

describe('journal format and driver', () => {
  it('upper-cases keys, skips bad ones and uses the binary form for newlines', () => {
    assert.equal(journalKey('a-key'), 'A_KEY');
    assert.equal(journalKey('_a'), null);
    assert.equal(journalKey('1a'), null);
    const b = formatJournal(rec([['task_id', 'x'], ['1bad', 'y'], ['ua', 'v1\nv2']], 'm'), 'g3proxy');
    const expect = Buffer.concat([
      Buffer.from('PRIORITY=5\nSYSLOG_IDENTIFIER=g3proxy\nTASK_ID=x\nUA\n'),
      Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from('v1\nv2\nMESSAGE=m\n'),
    ]);
    assert.deepEqual(b, expect);
  });

  it('sends datagrams to the socket, falls back to a truncated record when one is too big, counts overflow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const path = join(dir, 'socket');
    const got: Buffer[] = [];
    const rx = unixDgram().createSocket('unix_dgram');
    rx.on('message', (m) => got.push(Buffer.from(m)));
    rx.bind(path);
    const stats = newLoggerStats();
    const drv = new JournalDriver(stats, { path, channelSize: 3 });
    try {
      drv.write(rec([['task_id', 'one']], 'first'));
      drv.write(rec([['big', 'x'.repeat(600_000)]], 'huge'));
      drv.write(rec([['task_id', 'three']]));
      drv.write(rec([['task_id', 'four']])); // the queue holds 3: this one overflows
      assert.equal(stats.dropChannelOverflow, 1);
      await until(() => got.length >= 3);
      assert.match(got[0]!.toString(), /TASK_ID=one\nMESSAGE=first\n$/);
      const big = got[1]!.toString();
      assert.ok(got[1]!.length < 10_000, 'the fallback record is cut down');
      assert.match(big, /^PRIORITY=5\nSYSLOG_IDENTIFIER=g3proxy\nBIG=x{4096}\nSLUICE_TRUNCATED=1\nMESSAGE=huge\n$/);
      assert.match(got[2]!.toString(), /TASK_ID=three/);
      assert.equal(stats.total, 4);
      assert.equal(stats.pass, 3);
    } finally {
      await drv.close();
      rx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counts records to a missing socket as PeerUnreachable', async () => {
    const stats = newLoggerStats();
    const drv = new JournalDriver(stats, { path: join(tmpdir(), 'no-such-journal-socket') });
    drv.write(rec([['a', 1]]));
    await until(() => stats.dropPeerUnreachable === 1);
    assert.equal(stats.drop, 1);
    await drv.close();
  });
});

describe('msgpack and Forward entries', () => {
  it('round-trips the types the driver writes', () => {
    const w = new MsgpackWriter();
    w.arrayHeader(7).str('s').str('é'.repeat(40)).number(300).number(-5).number(2 ** 40).bool(true).nil();
    const [v] = decodeMsgpack(w.take());
    assert.deepEqual(v, ['s', 'é'.repeat(40), 300, -5, 2 ** 40, true, null]);
  });
  it('encodes [tag, EventTime, {fields..., msg}]', () => {
    const w = new MsgpackWriter();
    const buf = encodeForwardEntry(w, 'g3proxy.Task', { ...rec([['a', 1], ['b', 'x']], 'm'), ts: 1_700_000_000_250 });
    const [v] = decodeMsgpack(buf);
    const [tag, time, record] = v as [string, { ext: number; data: Buffer }, Record<string, unknown>];
    assert.equal(tag, 'g3proxy.Task');
    assert.equal(time.ext, 0);
    assert.equal(time.data.readUInt32BE(0), 1_700_000_000);
    assert.equal(time.data.readUInt32BE(4), 250_000_000);
    assert.deepEqual(record, { a: 1, b: 'x', msg: 'm' });
  });
});

describe('log config', () => {
  it('parses g3 shapes', () => {
    assert.equal(parseLogConfig(undefined).default.driver, 'discard');
    assert.equal(parseLogConfig('stdout').default.driver, 'stdout');
    const c = parseLogConfig({
      default: 'journal',
      task: { syslog: { target_udp: { address: '127.0.0.1:514', bind_ip: '127.0.0.1' }, format_rfc5424: 'mid' }, async_channel_size: 16 },
      escape: { fluentd: { address: '127.0.0.1:24225', shared_key: 'k', retry_queue_len: 3 } },
    });
    assert.equal(c.default.driver, 'journal');
    assert.ok(c.task?.driver === 'syslog');
    if (c.task?.driver === 'syslog') {
      assert.deepEqual(c.task.syslog.target, { kind: 'udp', host: '127.0.0.1', port: 514, bindIp: '127.0.0.1' });
      assert.deepEqual(c.task.syslog.rfc5424, { enterpriseId: 0, messageId: 'mid' });
      assert.equal(c.task.channelSize, 16);
    }
    if (c.escape?.driver === 'fluentd') {
      assert.equal(c.escape.fluentd.port, 24225);
      assert.equal(c.escape.fluentd.retryQueueLen, 3);
    } else assert.fail('escape should be fluentd');
    assert.throws(() => parseLogConfig({ task: { syslog: { nope: 1 } } }), /log\/task\/syslog\/nope: invalid key/);
    assert.throws(() => parseLogConfig('kafka'), /unknown log driver/);
  });
});
